"""One source of truth for pins: hardware/pins.csv, the pin table in hardware/README.md,
the wiring diagram and the firmware's ``DEFAULT_PINS`` must agree.

``firmware/config.py`` is MicroPython code, so it is never imported here: its
``DEFAULT_PINS`` dict literal is read with :mod:`ast`.
"""

from __future__ import annotations

import ast
import csv
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
HARDWARE = ROOT / "hardware"
PINS_CSV = HARDWARE / "pins.csv"
README = HARDWARE / "README.md"
WIRING_SVG = HARDWARE / "wiring.svg"
BOM_CSV = HARDWARE / "bom.csv"
FIRMWARE_CONFIG = ROOT / "firmware" / "config.py"

PIN_FUNCTIONS = ("i2c_sda", "i2c_scl", "mpu_int", "haptic", "battery_adc", "boot_button", "led")
# functions whose pin is only read; everything else drives the pin (I2C lines are open-drain outputs)
INPUT_FUNCTIONS = {"mpu_int", "battery_adc", "boot_button"}

# classic ESP32 (ESP32-WROOM-32) facts, from the ESP32 datasheet's pin list
ESP32_GPIOS = set(range(0, 20)) | {21, 22, 23, 25, 26, 27} | set(range(32, 40))
ESP32_FLASH_GPIOS = set(range(6, 12))  # wired to the module's SPI flash
ESP32_INPUT_ONLY_GPIOS = set(range(34, 40))
ESP32_ADC1_GPIOS = set(range(32, 40))  # ADC2 is unusable while the radio is on
ESP32_STRAPPING_GPIOS = {0, 2, 5, 12, 15}
# strapping pins are acceptable only for the DevKit's own BOOT button and LED
ALLOWED_STRAPPING_USE = {("boot_button", 0), ("led", 2)}

SVG_NS = "{http://www.w3.org/2000/svg}"


# ---------------------------------------------------------------- readers


def read_pins_csv(path: Path) -> dict[str, int]:
    """Return ``{function: gpio}`` from a pin table CSV (columns function,gpio,notes)."""
    with path.open(newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        assert reader.fieldnames == ["function", "gpio", "notes"], reader.fieldnames
        pins: dict[str, int] = {}
        for row in reader:
            function = row["function"].strip()
            assert function not in pins, f"{path.name}: {function} listed twice"
            assert row["gpio"].strip().isdigit(), f"{path.name}: {function}: gpio {row['gpio']!r}"
            assert row["notes"].strip(), f"{path.name}: {function} has no notes"
            pins[function] = int(row["gpio"])
    return pins


def read_pin_notes(path: Path) -> dict[str, str]:
    """Return ``{function: notes}`` from the pin table CSV."""
    with path.open(newline="", encoding="utf-8") as f:
        return {row["function"]: row["notes"] for row in csv.DictReader(f)}


def read_readme_pin_table(text: str) -> dict[str, int]:
    """Return ``{function: gpio}`` from the table between ``<!-- pins:begin`` and ``<!-- pins:end``."""
    match = re.search(r"<!-- pins:begin.*?-->(.*?)<!-- pins:end -->", text, re.DOTALL)
    assert match, "hardware/README.md has no <!-- pins:begin --> ... <!-- pins:end --> table"
    pins: dict[str, int] = {}
    for line in match.group(1).splitlines():
        if not line.strip().startswith("|"):
            continue
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        function = cells[0].strip("`")
        if function not in PIN_FUNCTIONS:
            continue  # header and separator rows
        assert function not in pins, f"README pin table lists {function} twice"
        assert cells[1].isdigit(), f"README pin table: {function}: GPIO cell {cells[1]!r}"
        pins[function] = int(cells[1])
    return pins


def _int_value(node: ast.expr, where: str) -> int:
    """An int literal, or MicroPython's ``const(<int literal>)``."""
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "const":
        assert len(node.args) == 1 and not node.keywords, f"{where}: const() takes one argument"
        node = node.args[0]
    value = ast.literal_eval(node)
    if not isinstance(value, int) or isinstance(value, bool):
        raise AssertionError(f"{where}: expected an int GPIO number, got {value!r}")
    return value


def parse_default_pins(source: str) -> dict[str, int]:
    """Find the module-level ``DEFAULT_PINS`` dict in firmware source and return it.

    Accepts ``DEFAULT_PINS = {"name": 21, ...}``, an annotated assignment, ``dict(name=21, ...)``
    and ``const(21)`` values. Never executes the source.
    """
    tree = ast.parse(source)
    for stmt in tree.body:
        value: ast.expr | None
        if isinstance(stmt, ast.Assign):
            names = [t.id for t in stmt.targets if isinstance(t, ast.Name)]
            value = stmt.value
        elif isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name):
            names = [stmt.target.id]
            value = stmt.value
        else:
            continue
        if "DEFAULT_PINS" not in names or value is None:
            continue
        pins: dict[str, int] = {}
        if isinstance(value, ast.Dict):
            for key, val in zip(value.keys, value.values, strict=True):
                assert isinstance(key, ast.Constant) and isinstance(key.value, str), (
                    "DEFAULT_PINS keys must be string literals"
                )
                pins[key.value] = _int_value(val, f"DEFAULT_PINS[{key.value!r}]")
        elif (
            isinstance(value, ast.Call)
            and isinstance(value.func, ast.Name)
            and value.func.id == "dict"
        ):
            assert not value.args, "DEFAULT_PINS = dict(...) must use keyword arguments only"
            for kw in value.keywords:
                assert kw.arg is not None, "DEFAULT_PINS = dict(**...) cannot be read statically"
                pins[kw.arg] = _int_value(kw.value, f"DEFAULT_PINS[{kw.arg!r}]")
        else:
            raise AssertionError("DEFAULT_PINS must be a dict literal (or dict(...) of literals)")
        return pins
    raise AssertionError("no module-level DEFAULT_PINS assignment found")


def find_divider_ratio(source: str) -> float | None:
    """Return a battery divider *ratio* defined in firmware source, or None if there is none.

    Looks at module-level names and string dict keys containing both "divider" and "ratio"
    (or named exactly ``battery_divider``) whose value is a number literal.
    """

    def is_ratio_name(name: str) -> bool:
        lowered = name.lower()
        return ("divider" in lowered and "ratio" in lowered) or lowered == "battery_divider"

    def number(node: ast.expr) -> float | None:
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id == "const"
        ):
            node = node.args[0]
        if isinstance(node, ast.Constant) and isinstance(node.value, int | float):
            return float(node.value)
        return None

    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Assign):
            for target in node.targets:
                if isinstance(target, ast.Name) and is_ratio_name(target.id):
                    found = number(node.value)
                    if found is not None:
                        return found
        elif isinstance(node, ast.Dict):
            for key, val in zip(node.keys, node.values, strict=True):
                if isinstance(key, ast.Constant) and isinstance(key.value, str):
                    if is_ratio_name(key.value):
                        found = number(val)
                        if found is not None:
                            return found
    return None


def svg_text(path: Path) -> str:
    """All text content of the SVG's ``<text>`` elements, one line each."""
    root = ET.parse(path).getroot()
    return "\n".join("".join(el.itertext()) for el in root.iter(f"{SVG_NS}text"))


def hardware_divider_ratio() -> float:
    """The divider ratio the pin table documents for ``battery_adc`` ("ratio 2.0")."""
    match = re.search(r"ratio (\d+(?:\.\d+)?)", read_pin_notes(PINS_CSV)["battery_adc"])
    assert match, "pins.csv battery_adc notes must state the divider ratio as 'ratio X'"
    return float(match.group(1))


# ---------------------------------------------------------------- the pin table itself


def test_pins_csv_has_exactly_the_firmware_functions() -> None:
    pins = read_pins_csv(PINS_CSV)
    assert sorted(pins) == sorted(PIN_FUNCTIONS)


def test_pins_are_distinct_and_usable_on_a_classic_esp32() -> None:
    pins = read_pins_csv(PINS_CSV)
    gpios = list(pins.values())
    assert len(set(gpios)) == len(gpios), f"a GPIO is used twice: {pins}"
    for function, gpio in pins.items():
        assert gpio in ESP32_GPIOS, f"{function}: GPIO{gpio} does not exist on the ESP32"
        assert gpio not in ESP32_FLASH_GPIOS, f"{function}: GPIO{gpio} is wired to the flash"
        if gpio in ESP32_INPUT_ONLY_GPIOS:
            assert function in INPUT_FUNCTIONS, f"{function} drives GPIO{gpio}, an input-only pin"
        if gpio in ESP32_STRAPPING_GPIOS:
            assert (function, gpio) in ALLOWED_STRAPPING_USE, (
                f"{function} on strapping pin GPIO{gpio} can stop the board from booting"
            )
    assert pins["battery_adc"] in ESP32_ADC1_GPIOS, "battery ADC must be on ADC1 (ADC2 + radio)"


def test_divider_keeps_a_full_cell_inside_the_adc_range() -> None:
    # ESP-IDF documents 150-2450 mV as the accurate range of the ESP32 ADC at 11 dB attenuation
    ratio = hardware_divider_ratio()
    assert 150 <= 4200 / ratio <= 2450, "a full cell (4.2 V) must stay in the 11 dB ADC range"
    assert 150 <= 3000 / ratio <= 2450, "an empty cell (3.0 V) must stay in the 11 dB ADC range"


def test_readme_pin_table_matches_pins_csv() -> None:
    readme_pins = read_readme_pin_table(README.read_text(encoding="utf-8"))
    assert readme_pins == read_pins_csv(PINS_CSV)


def test_readme_pin_table_reader_sees_a_drift() -> None:
    pins = dict(zip(PIN_FUNCTIONS, (21, 22, 19, 25, 34, 0, 2), strict=True))
    table = (
        "text | `led` | 99 | outside the markers\n"
        "<!-- pins:begin -->\n| function | GPIO | notes |\n|---|---|---|\n"
        + "".join(f"| `{f}` | {g} | x |\n" for f, g in pins.items())
        + "<!-- pins:end -->\n"
    )
    assert read_readme_pin_table(table) == pins
    drifted = read_readme_pin_table(table.replace("| `haptic` | 25 |", "| `haptic` | 26 |"))
    assert drifted == {**pins, "haptic": 26}
    with pytest.raises(AssertionError, match="twice"):
        read_readme_pin_table(table.replace("| `haptic` | 25 |", "| `led` | 25 |"))


# ---------------------------------------------------------------- wiring diagram


def test_wiring_svg_is_well_formed_and_names_every_pin() -> None:
    root = ET.parse(WIRING_SVG).getroot()
    assert root.tag == f"{SVG_NS}svg"
    assert root.get("viewBox"), "the SVG needs a viewBox to scale in the README"
    text = svg_text(WIRING_SVG)
    for function, gpio in read_pins_csv(PINS_CSV).items():
        assert re.search(rf"\bGPIO{gpio}\b", text), f"wiring.svg never mentions GPIO{gpio}"
        # the legend line pairs each function key with its pin
        assert re.search(rf"\b{function} GPIO{gpio}\b", text), (
            f"legend lacks '{function} GPIO{gpio}'"
        )


def test_wiring_svg_shows_the_documented_part_values() -> None:
    text = svg_text(WIRING_SVG)
    for value in ("100 kΩ", "100 nF", "470 Ω", "10 kΩ", "1N4148", "2N2222A", "TP4056", "GY-521"):
        assert value in text, f"wiring.svg lacks {value}"


# ---------------------------------------------------------------- firmware agreement


def test_default_pins_parser_reads_literals_const_and_dict_call() -> None:
    assert parse_default_pins("DEFAULT_PINS = {'led': 2, 'haptic': 25}\n") == {
        "led": 2,
        "haptic": 25,
    }
    assert parse_default_pins(
        "from micropython import const\nDEFAULT_PINS: dict = {'led': const(2)}\n"
    ) == {"led": 2}
    assert parse_default_pins("DEFAULT_PINS = dict(led=2, i2c_sda=21)\n") == {
        "led": 2,
        "i2c_sda": 21,
    }
    with pytest.raises(AssertionError, match="no module-level DEFAULT_PINS"):
        parse_default_pins("def f():\n    DEFAULT_PINS = {'led': 2}\n")
    with pytest.raises(AssertionError, match="int GPIO number"):
        parse_default_pins("DEFAULT_PINS = {'led': '2'}\n")
    assert find_divider_ratio("BATTERY_DIVIDER_RATIO = 2.0\n") == 2.0
    assert find_divider_ratio("CFG = {'battery_divider_ratio': 2}\n") == 2.0
    assert find_divider_ratio("CFG = {'battery_divider_ohms': 100000}\n") is None


def _firmware_config_source() -> str:
    assert FIRMWARE_CONFIG.exists(), "firmware/config.py (the firmware's DEFAULT_PINS) is missing"
    return FIRMWARE_CONFIG.read_text(encoding="utf-8")


def test_pins_csv_and_readme_match_firmware_default_pins() -> None:
    firmware_pins = parse_default_pins(_firmware_config_source())
    assert firmware_pins == read_pins_csv(PINS_CSV)
    assert firmware_pins == read_readme_pin_table(README.read_text(encoding="utf-8"))


def test_battery_divider_matches_firmware() -> None:
    ratio = find_divider_ratio(_firmware_config_source())
    if ratio is None:
        pytest.skip("firmware/config.py defines no battery divider ratio constant to compare")
    assert ratio == pytest.approx(hardware_divider_ratio())


# ---------------------------------------------------------------- bill of materials

BOM_COLUMNS = ["ref", "item", "qty", "spec", "unit_price_usd", "required", "notes"]


def read_bom() -> list[dict[str, str]]:
    """Rows of hardware/bom.csv, checked for shape."""
    with BOM_CSV.open(newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        assert reader.fieldnames == BOM_COLUMNS, reader.fieldnames
        rows = list(reader)
    refs = [row["ref"] for row in rows]
    assert len(set(refs)) == len(refs), "duplicate BOM refs"
    for row in rows:
        assert row["required"] in {"yes", "no"}, row
        assert int(row["qty"]) > 0, row
        assert float(row["unit_price_usd"]) >= 0, row
    return rows


def test_bom_total_in_readme_matches_bom_csv() -> None:
    rows = read_bom()
    total = sum(int(r["qty"]) * float(r["unit_price_usd"]) for r in rows if r["required"] == "yes")
    readme = README.read_text(encoding="utf-8")
    match = re.search(r"Total \(required parts\)\D*?(\d+\.\d\d)", readme)
    assert match, "README must state 'Total (required parts): ... $NN.NN'"
    assert float(match.group(1)) == pytest.approx(total, abs=0.005)


def test_every_bom_ref_is_in_the_readme() -> None:
    readme = README.read_text(encoding="utf-8")
    for row in read_bom():
        assert f"| {row['ref']} |" in readme, f"README BOM table lacks {row['ref']}"
