"""A CycloneDX SBOM for each zip: every locked package with its version and hashes, every file of the
function's own, and the zip's SHA-256.

Written by hand rather than through a generator library: the document is small, and it must be
byte-reproducible (no timestamp; the serial number derives from the zip's digest), like the zip itself. The
tests validate it against the CycloneDX 1.6 schema with cyclonedx-python-lib.
"""

import hashlib
import json
import uuid
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from lambdafleet import BUILDER_VERSION
from lambdafleet.build import atomic
from lambdafleet.build.archive import Entry
from lambdafleet.build.lockfile import Pin
from lambdafleet.build.platforms import Target

SPEC_VERSION = "1.6"
SUFFIX = ".cdx.json"


def _sha256(content: str) -> dict[str, str]:
    return {"alg": "SHA-256", "content": content}


def _package(pin: Pin) -> dict[str, Any]:
    purl = f"pkg:pypi/{pin.name}@{pin.version}"
    return {
        "type": "library",
        "bom-ref": purl,
        "name": pin.name,
        "version": pin.version,
        "purl": purl,
        # The lock's hashes: one per distribution file (wheels, sdist) the lock accepts for this version.
        "hashes": [_sha256(h.removeprefix("sha256:")) for h in sorted(pin.hashes)],
    }


def _file(entry: Entry) -> dict[str, Any]:
    return {
        "type": "file",
        "bom-ref": f"file:{entry.name}",
        "name": entry.name,
        "hashes": [_sha256(hashlib.sha256(entry.path.read_bytes()).hexdigest())],
    }


def function_sbom(
    name: str, target: Target, pins: Iterable[Pin], sources: Iterable[Entry], zip_name: str, zip_sha256: str
) -> dict[str, Any]:
    """The SBOM document of one built zip."""
    components = [_package(pin) for pin in sorted(pins, key=lambda pin: pin.name)]
    components += [_file(entry) for entry in sorted(sources, key=lambda entry: entry.name)]
    return {
        "bomFormat": "CycloneDX",
        "specVersion": SPEC_VERSION,
        "serialNumber": uuid.uuid5(uuid.NAMESPACE_URL, f"lambdafleet:{name}:{zip_sha256}").urn,
        "version": 1,
        "metadata": {
            "tools": {"components": [{"type": "application", "name": "lambdafleet", "version": BUILDER_VERSION}]},
            "component": {
                "type": "application",
                "bom-ref": name,
                "name": name,
                "hashes": [_sha256(zip_sha256)],
                "properties": [
                    {"name": "lambdafleet:architecture", "value": target.architecture},
                    {"name": "lambdafleet:runtime", "value": target.runtime},
                    {"name": "lambdafleet:zip", "value": zip_name},
                ],
            },
        },
        "components": components,
        "dependencies": [{"ref": name, "dependsOn": [c["bom-ref"] for c in components]}],
    }


def write_sbom(path: Path, document: dict[str, Any]) -> None:
    """Write the document with sorted keys, so the same build gives the same bytes."""
    atomic.write_text(path, json.dumps(document, indent=1, sort_keys=True) + "\n")
