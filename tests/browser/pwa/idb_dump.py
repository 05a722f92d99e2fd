"""What IndexedDB really holds: every record of a store read through CDP ``IndexedDB.requestData``, walked
property by property (``Runtime.getProperties``), with the bytes of every Blob, ArrayBuffer and typed array.

Nothing goes through the app's own code, so a test on this dump sees what a person with DevTools (or a copy of
the profile opened in another browser) would see.
"""

from __future__ import annotations

import base64

BYTES_JS = """async function () {
    const buffer = this instanceof Blob ? await this.arrayBuffer()
        : ArrayBuffer.isView(this) ? this.buffer.slice(this.byteOffset, this.byteOffset + this.byteLength) : this;
    let binary = "";
    const bytes = new Uint8Array(buffer);
    for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
    return btoa(binary);
}"""
_BINARY = {"Blob", "File", "ArrayBuffer", "Uint8Array"}


class IndexedDbDump:
    def __init__(self, page, database: str = "motcua-outbox") -> None:
        self.cdp = page.context.new_cdp_session(page)
        self.cdp.send("IndexedDB.enable")
        self.cdp.send("Runtime.enable")
        self.origin = page.evaluate("location.origin")
        self.database = database

    def records(self, store: str) -> list[dict]:
        """Each record of ``store`` as ``{"text": [every string and number in it], "bytes": [each binary]}``."""
        answer = self.cdp.send("IndexedDB.requestData", {
            "securityOrigin": self.origin, "databaseName": self.database, "objectStoreName": store,
            "skipCount": 0, "pageSize": 1000})
        assert not answer["hasMore"]
        found = []
        for entry in answer["objectStoreDataEntries"]:
            record = {"text": [], "bytes": []}
            self._walk(entry["value"], record, depth=0)
            found.append(record)
        return found

    def _walk(self, remote: dict, record: dict, depth: int) -> None:
        assert depth < 20, "deeper than any record the app writes"
        if "objectId" not in remote:
            if "value" in remote:
                record["text"].append(str(remote["value"]))
            return
        if remote.get("className") in _BINARY or remote.get("subtype") in ("arraybuffer", "typedarray"):
            result = self.cdp.send("Runtime.callFunctionOn", {
                "objectId": remote["objectId"], "functionDeclaration": BYTES_JS, "awaitPromise": True,
                "returnByValue": True})
            record["bytes"].append(base64.b64decode(result["result"]["value"]))
            return
        properties = self.cdp.send("Runtime.getProperties", {"objectId": remote["objectId"], "ownProperties": True})
        for prop in properties["result"]:
            if prop.get("enumerable") and "value" in prop:
                record["text"].append(prop["name"])
                self._walk(prop["value"], record, depth + 1)
