"""The bond store: the secrets the BLE stack asks to keep, on flash.

MicroPython's ``bluetooth`` keeps no bonds itself: on a port with pairing
support (NimBLE on ESP32 since MicroPython 1.23, STM32, Unix) the stack raises
``_IRQ_SET_SECRET`` with ``(sec_type, key, value)`` to store a secret (``value``
None: delete it) and ``_IRQ_GET_SECRET`` with ``(sec_type, index, key)`` to read
one back (``key`` None: the ``index``-th secret of that type). Keys and values
are opaque bytes (NimBLE's store records: our and the peer's LTK/IRK, CCCDs);
this module only keeps them.

The IRQ changes the store in RAM and marks it dirty; the main loop writes it
with :meth:`BondStore.flush` (temporary file, then rename: a power cut leaves
the previous file). A missing or corrupt file is an empty store (the board then
has no bonds and opens its pairing window at power-up).
"""

import binascii
import json

from micropython import const

BONDS_PATH = "bonds.json"
SECRETS_MAX = const(24)  # about four hosts (our and their keys, a few CCCDs each)
SEC_TYPE_OUR = const(1)  # NimBLE's BLE_STORE_OBJ_TYPE_OUR_SEC: our keys for a central
SEC_TYPE_PEER = const(2)  # NimBLE's BLE_STORE_OBJ_TYPE_PEER_SEC: one per bonded central


class BondStore:
    """Secrets by ``(sec_type, key)``, persisted to ``path``.

    Parameters
    ----------
    path
        The file on flash.

    Attributes
    ----------
    reason
        Why the store started empty ("" when the file loaded, or was missing).
    dirty
        Changed since the last :meth:`flush`.
    flash_errors
        Writes that failed (the bonds stay in RAM until a reset).
    """

    def __init__(self, path=BONDS_PATH):
        self.path = path
        self.secrets = []  # [sec_type, key bytes, value bytes]
        self.reason = ""
        self.dirty = False
        self.flash_errors = 0
        self._load()

    def _load(self):
        try:
            with open(self.path) as f:
                text = f.read()
        except OSError:
            return
        try:
            rows = json.loads(text)
            out = []
            for row in rows:
                out.append([int(row[0]), binascii.unhexlify(row[1]), binascii.unhexlify(row[2])])
            if len(out) > SECRETS_MAX:
                raise ValueError("too many secrets")
        except (ValueError, TypeError, IndexError, KeyError):
            self.reason = "corrupt bond file: no bonds"
            return
        self.secrets = out

    def _find(self, sec_type, key):
        for i in range(len(self.secrets)):
            s = self.secrets[i]
            if s[0] == sec_type and s[1] == key:
                return i
        return -1

    def get(self, sec_type, index, key):
        """``_IRQ_GET_SECRET``: the value, or None."""
        if key is None:
            n = 0
            for s in self.secrets:
                if s[0] == sec_type:
                    if n == index:
                        return s[2]
                    n += 1
            return None
        i = self._find(sec_type, bytes(key))
        return self.secrets[i][2] if i >= 0 else None

    def set(self, sec_type, key, value, keys_allowed=True):
        """``_IRQ_SET_SECRET``: store (``value`` None: delete); False when refused.

        ``keys_allowed`` False (the pairing window is closed) refuses to write
        security keys (our and the peer's records), new or changed: a pairing
        outside the window must neither add a bond nor replace the keys of one
        (a central that copies the host's address). Other records (the CCCDs the
        stack keeps for bonded centrals) and deletions are taken.
        """
        key = bytes(key)
        i = self._find(sec_type, key)
        if value is None:
            if i >= 0:
                self.secrets.pop(i)
                self.dirty = True
            return True
        if not keys_allowed and (sec_type == SEC_TYPE_OUR or sec_type == SEC_TYPE_PEER):
            return False
        if i >= 0:
            self.secrets[i][2] = bytes(value)
            self.dirty = True
            return True
        if len(self.secrets) >= SECRETS_MAX:
            return False
        self.secrets.append([sec_type, key, bytes(value)])
        self.dirty = True
        return True

    def peers(self):
        """Bonded centrals (the peer-key records)."""
        n = 0
        for s in self.secrets:
            if s[0] == SEC_TYPE_PEER:
                n += 1
        return n

    def clear(self):
        """Forget every bond."""
        if self.secrets:
            self.secrets = []
            self.dirty = True

    def flush(self):
        """Write the store if it changed (temporary file + rename); False on a flash error."""
        if not self.dirty:
            return True
        rows = []
        for s in self.secrets:
            rows.append([s[0], binascii.hexlify(s[1]).decode(), binascii.hexlify(s[2]).decode()])
        import os

        tmp = self.path + ".tmp"
        try:
            with open(tmp, "w") as f:
                f.write(json.dumps(rows))
            try:
                os.rename(tmp, self.path)
            except OSError:  # FAT does not rename over an existing file
                os.remove(self.path)
                os.rename(tmp, self.path)
        except OSError:
            self.dirty = False  # not again every pass: the bonds stay in RAM until a reset
            self.flash_errors += 1
            return False
        self.dirty = False
        return True
