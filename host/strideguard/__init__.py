"""strideguard — shin-IMU running gait monitor.

Finds every stride's events from a shin-mounted IMU, measures overstriding and
late-swing load, and alerts the runner when their gait changes. See the README
for conventions (shank frame, units) and the command-line interface.
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
