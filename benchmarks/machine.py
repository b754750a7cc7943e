"""What machine a benchmark ran on: the CPU's name, for the header of every benchmark's table."""
import os
import platform


def cpu_name():
    """The CPU's model name from /proc/cpuinfo (Linux), else what the platform module knows."""
    try:
        with open("/proc/cpuinfo") as f:
            return next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        return platform.processor() or platform.machine()


def describe():
    """CPU, core count, Python, OS: one line."""
    return f"{cpu_name()}, {os.cpu_count()} cores; Python {platform.python_version()}, " \
           f"{platform.system()} {platform.release()}"
