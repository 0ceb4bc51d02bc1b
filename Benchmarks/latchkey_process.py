"""`latchkey serve` as a child process of a benchmark script, on free ports of 127.0.0.1."""
import subprocess


def start(latchkey, data, extra=()):
    """Starts `latchkey serve --data-dir DATA [EXTRA]` and waits until it is ready; returns (process, host, API port)."""
    process = subprocess.Popen(
        [latchkey, "serve", "--data-dir", data, "--enroll-port", "0", "--api-port", "0", "--log-level", "error"]
        + list(extra), stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    api = None
    for line in process.stdout:
        parts = line.split()
        if len(parts) >= 3 and parts[1] == "api":
            api = parts[2]
        if line.strip() == "latchkey: ready":
            break
    host, port = api.replace("https://", "").split(":")
    return process, host, int(port)
