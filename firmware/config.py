"""Board configuration: a small JSON file on flash, validated on load.

A missing, unreadable or invalid file gives the defaults, and :func:`load`
says why, so the status characteristic can report "defaults in use".
Writes go to a temporary file first and are renamed over the old one, so a
power cut during a save leaves the previous file intact.
"""

import json

import protocol

CONFIG_PATH = "strideguard.json"

# Classic ESP32 DevKit V1 (30-pin) + GY-521 (MPU6050) wiring.
DEFAULT_PINS = {
    "i2c_sda": 21,
    "i2c_scl": 22,
    "mpu_int": 19,
    "haptic": 25,
    "battery_adc": 34,
    "boot_button": 0,
    "led": 2,
}

DEFAULTS = {
    "leg": "L",
    "rate_hz": protocol.DEFAULT_RATE_HZ,
    "cadence_target_spm": 0,
    "cue_enabled": False,
    "pins": DEFAULT_PINS,
    "i2c_freq_hz": 400000,
    "mpu_address": 0x68,
    "battery_divider_ratio": 2.0,  # V_battery / V_pin (100k/100k divider)
    "watchdog_ms": 8000,
    "gyro_bias": [0, 0, 0],  # LSB, from a standing calibration
    "gravity": [0, 0, 0],  # LSB, accelerometer mean while standing still
    "calibrated": False,
    "backfill_bytes": 40960,  # frame ring for OP_RESEND (6.2 s at 500 Hz, MTU 247); 0 = none
    "pairing_window_s": 60,  # how long the pairing window stays open (docs/ble.md)
}
PAIRING_WINDOW_S_MIN = 10  # long enough to start `strideguard pair` after the press
PAIRING_WINDOW_S_MAX = 600  # short enough not to leave just-works pairing open all run
BACKFILL_BYTES_MIN = 8192
BACKFILL_BYTES_MAX = 65536

# GPIOs a classic ESP32 exposes; 34..39 are input only; ADC1 is GPIO 32..39
# (ADC2 cannot be used while the radio is on).
ESP32_GPIOS = (0, 1, 2, 3, 4, 5, 12, 13, 14, 15, 16, 17, 18, 19, 21, 22, 23, 25, 26, 27, 32, 33)
ESP32_INPUT_ONLY = (34, 35, 36, 39)
OUTPUT_PINS = ("i2c_sda", "i2c_scl", "haptic", "led")


def defaults():
    """A fresh copy of the default configuration."""
    d = {}
    for k in DEFAULTS:
        v = DEFAULTS[k]
        if isinstance(v, dict):
            v = dict(v)
        elif isinstance(v, list):
            v = list(v)
        d[k] = v
    return d


def _is_int(v):
    return isinstance(v, int) and not isinstance(v, bool)


def _int_list(v, n, lo, hi):
    if not isinstance(v, list) or len(v) != n:
        return False
    for x in v:
        if not _is_int(x) or x < lo or x > hi:
            return False
    return True


def validate(cfg):
    """Return None if ``cfg`` is a valid configuration, else the reason."""
    if not isinstance(cfg, dict):
        return "not a JSON object"
    for key in cfg:
        if key not in DEFAULTS:
            return "unknown key %s" % key
    leg = cfg.get("leg", "L")
    if leg not in protocol.LEG_NAMES:
        return "leg must be L or R"
    if cfg.get("rate_hz", protocol.DEFAULT_RATE_HZ) not in protocol.SUPPORTED_RATES_HZ:
        return "rate_hz not supported"
    t = cfg.get("cadence_target_spm", 0)
    if not _is_int(t) or not (
        t == 0 or protocol.CADENCE_TARGET_MIN_SPM <= t <= protocol.CADENCE_TARGET_MAX_SPM
    ):
        return "cadence_target_spm out of range"
    for key in ("cue_enabled", "calibrated"):
        if not isinstance(cfg.get(key, False), bool):
            return "%s must be true or false" % key
    f = cfg.get("i2c_freq_hz", 400000)
    if not _is_int(f) or not 10000 <= f <= 1000000:
        return "i2c_freq_hz out of range"
    if cfg.get("mpu_address", 0x68) not in (0x68, 0x69):
        return "mpu_address must be 0x68 or 0x69"
    r = cfg.get("battery_divider_ratio", 2.0)
    if not isinstance(r, (int, float)) or isinstance(r, bool) or not 1.0 <= r <= 10.0:
        return "battery_divider_ratio out of range (1.0..10.0)"
    w = cfg.get("watchdog_ms", 8000)
    if not _is_int(w) or not 1000 <= w <= 60000:
        return "watchdog_ms out of range"
    b = cfg.get("backfill_bytes", DEFAULTS["backfill_bytes"])
    if not _is_int(b) or not (b == 0 or BACKFILL_BYTES_MIN <= b <= BACKFILL_BYTES_MAX):
        return "backfill_bytes must be 0 or 8192..65536"
    p = cfg.get("pairing_window_s", DEFAULTS["pairing_window_s"])
    if not _is_int(p) or not PAIRING_WINDOW_S_MIN <= p <= PAIRING_WINDOW_S_MAX:
        return "pairing_window_s out of range (10..600)"
    for key in ("gyro_bias", "gravity"):
        if not _int_list(cfg.get(key, [0, 0, 0]), 3, -32768, 32767):
            return "%s must be 3 int16 values" % key
    return _validate_pins(cfg.get("pins", DEFAULT_PINS))


def _validate_pins(pins):
    if not isinstance(pins, dict):
        return "pins must be an object"
    used = []
    for key in pins:
        if key not in DEFAULT_PINS:
            return "unknown pin %s" % key
        p = pins[key]
        if not _is_int(p) or (p not in ESP32_GPIOS and p not in ESP32_INPUT_ONLY):
            return "pin %s: GPIO %s does not exist" % (key, p)
        if key in OUTPUT_PINS and p in ESP32_INPUT_ONLY:
            return "pin %s: GPIO %d is input only" % (key, p)
        if key == "battery_adc" and not 32 <= p <= 39:
            return "pin battery_adc: GPIO %d is not on ADC1 (32..39)" % p
        if p in used:
            return "pin %s: GPIO %d used twice" % (key, p)
        used.append(p)
    return None


def merge(cfg):
    """Defaults overlaid with the (valid) keys of ``cfg``."""
    d = defaults()
    for k in cfg:
        if k == "pins":
            for p in cfg["pins"]:
                d["pins"][p] = cfg["pins"][p]
        else:
            d[k] = cfg[k]
    return d


def load(path=CONFIG_PATH):
    """Read the configuration.

    Returns
    -------
    (cfg, ok, reason)
        ``ok`` is False when the defaults are in use because the file is
        missing or invalid; ``reason`` says which (empty when ok).
    """
    try:
        with open(path) as f:
            text = f.read()
    except OSError:
        return defaults(), False, "missing"
    try:
        cfg = json.loads(text)
    except (ValueError, TypeError):
        return defaults(), False, "corrupt: not JSON"
    reason = validate(cfg)
    if reason is not None:
        return defaults(), False, "invalid: " + reason
    merged = merge(cfg)
    reason = validate(merged)
    if reason is not None:
        return defaults(), False, "invalid: " + reason
    return merged, True, ""


def save(cfg, path=CONFIG_PATH):
    """Validate and write ``cfg`` atomically (temp file + rename)."""
    reason = validate(cfg)
    if reason is not None:
        raise ValueError(reason)
    import os

    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(json.dumps(cfg))
    try:
        os.rename(tmp, path)
    except OSError:  # FAT does not rename over an existing file
        os.remove(path)
        os.rename(tmp, path)
