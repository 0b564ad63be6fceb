"""Generates the DICOM test studies and what the engine must make of them, reproducibly.

    python scripts/gen_dicom.py            # crates/engine/tests/dicom/*.dcm and expected.json
    python scripts/gen_dicom.py --out DIR  # the same files elsewhere (a test compares them)

Each study is written with pydicom (and its encoders from PyPI) in one transfer syntax, with a
canary in every identifying attribute. `expected.json` holds, per study, the request's
`preprocess` and the model input pydicom and numpy compute for it (modality LUT, the window of
PS3.3 C.11.2.1.2.1, MONOCHROME1 inverted, YBR to RGB), which the engine must match
(`crates/engine/tests/dicom.rs`). The hostile files are built byte by byte from a good one.

`study(...)` is also what the browser tests call, with a fresh canary.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import pydicom
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.encaps import encapsulate
from pydicom.pixels import apply_modality_lut
from pydicom.uid import (
    DeflatedExplicitVRLittleEndian, ExplicitVRLittleEndian, ImplicitVRLittleEndian, JPEG2000Lossless, JPEGBaseline8Bit,
    JPEGLosslessSV1, JPEGLSLossless, RLELossless, generate_uid,
)

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "crates" / "engine" / "tests" / "dicom"
# Identifying attributes (PS3.15 Basic Profile), each given a canary.
IDENTIFYING = ["PatientName", "PatientID", "PatientBirthDate", "AccessionNumber", "InstitutionName",
               "ReferringPhysicianName", "StudyID", "OperatorsName"]
UIDS = ["StudyInstanceUID", "SeriesInstanceUID", "SOPInstanceUID"]


def study(kind: str, syntax: str, canary: str, seed: int = 0, frames: int = 1, ct: np.ndarray | None = None) -> Dataset:
    """A small study of `kind` (ct, mr_mono1, rgb, ybr) in transfer syntax `syntax`, with
    `canary` (at most 16 characters) in every identifying attribute. `ct` gives a CT study's
    stored values (HU + 1024) instead of random ones."""
    rng = np.random.default_rng(seed)
    # Big enough for JPEG 2000's default 6 resolution levels (2^5 = 32 pixels a side).
    rows, cols = (48, 64) if ct is None else ct.shape
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = syntax
    ds.file_meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.7"
    for name in IDENTIFYING:
        setattr(ds, name, "19700101" if name.endswith("Date") else canary)
    for name in UIDS:
        setattr(ds, name, generate_uid(entropy_srcs=[canary, name]))
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    ds.SOPClassUID = ds.file_meta.MediaStorageSOPClassUID
    ds.Rows, ds.Columns = rows, cols
    if frames > 1:
        ds.NumberOfFrames = frames
    shape = (frames, rows, cols) if frames > 1 else (rows, cols)
    if kind == "ct":
        ds.Modality = "CT"
        ds.PhotometricInterpretation = "MONOCHROME2"
        ds.SamplesPerPixel, ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 1, 16, 16, 15, 1
        ds.RescaleSlope, ds.RescaleIntercept = 1, -1024
        ds.WindowCenter, ds.WindowWidth = 40, 400
        pixels = rng.integers(-1024, 2048, shape).astype(np.int16) if ct is None else ct.astype(np.int16)
    elif kind == "mr_mono1":
        ds.Modality = "MR"
        ds.PhotometricInterpretation = "MONOCHROME1"
        ds.SamplesPerPixel, ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 1, 16, 12, 11, 0
        ds.WindowCenter, ds.WindowWidth = 1500, 2000
        pixels = rng.integers(0, 4096, shape).astype(np.uint16)
    elif kind in ("rgb", "ybr"):
        ds.Modality = "XC"
        ds.PhotometricInterpretation = "RGB" if kind == "rgb" else "YBR_FULL"
        ds.SamplesPerPixel, ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 3, 8, 8, 7, 0
        ds.PlanarConfiguration = 0
        # Smooth, so that a lossy codec stays close to it.
        y, x = np.mgrid[0:rows, 0:cols]
        pixels = np.stack([x * 255 // (cols - 1), y * 255 // (rows - 1), (x + y) * 255 // (rows + cols - 2)], axis=-1).astype(np.uint8)
    else:
        raise ValueError(kind)
    ds.BodyPartExamined = "CHEST"
    if syntax == JPEGBaseline8Bit:
        from io import BytesIO

        from PIL import Image
        buffer = BytesIO()
        Image.fromarray(pixels, "RGB").save(buffer, format="JPEG", quality=95, subsampling=0)
        ds.PixelData = encapsulate([buffer.getvalue()])
        # Pillow's JPEG is JFIF, whose colours are YCbCr: what DICOM calls YBR_FULL_422.
        ds.PhotometricInterpretation = "YBR_FULL_422"
        ds["PixelData"].VR = "OB"
        ds.LossyImageCompression = "01"
    elif syntax == JPEGLosslessSV1:
        ds.PixelData = encapsulate([encode_lossless(pixels)])
        ds["PixelData"].VR = "OB"
    elif syntax in (RLELossless, JPEG2000Lossless):
        ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
        ds.PixelData = pixels.tobytes()
        # The same SOP Instance UID on every run: the studies are committed, and must not change.
        ds.compress(syntax, encoding_plugin="pylibjpeg" if syntax == JPEG2000Lossless else "pydicom", generate_instance_uid=False)
    else:
        ds.PixelData = pixels.tobytes()
        ds["PixelData"].VR = "OW" if ds.BitsAllocated == 16 else "OB"
    return ds


def encode_lossless(pixels: np.ndarray, precision: int = 16) -> bytes:
    """JPEG lossless (process 14, first-order prediction: selection value 1) of a 2-D array of
    unsigned samples, one component, one Huffman table covering every difference category.
    No encoder on PyPI writes this syntax (pydicom's encoders do not, Pillow does not), and
    clinics use it widely; libjpeg (pylibjpeg-libjpeg) decodes the result exactly."""
    rows, cols = pixels.shape
    x = pixels.astype(np.int64)
    modulus = 1 << precision
    out = bytearray()
    acc, nbits = 0, 0

    def put(value: int, length: int) -> None:
        nonlocal acc, nbits
        acc = (acc << length) | (value & ((1 << length) - 1)); nbits += length
        while nbits >= 8:
            byte = (acc >> (nbits - 8)) & 0xFF; nbits -= 8
            out.append(byte)
            if byte == 0xFF: out.append(0)
    for r in range(rows):
        for c in range(cols):
            if r == 0 and c == 0: pred = 1 << (precision - 1)
            elif r == 0: pred = x[r, c - 1]
            elif c == 0: pred = x[r - 1, c]
            else: pred = x[r, c - 1]
            diff = int((x[r, c] - pred) % modulus)
            if diff >= modulus // 2: diff -= modulus
            ssss = 0 if diff == 0 else abs(diff).bit_length()
            put(ssss, 5)  # the table below gives category k the 5-bit code k
            if 0 < ssss < 16:
                put(diff if diff > 0 else diff - 1, ssss)
    if nbits: put((1 << (8 - nbits)) - 1, 8 - nbits)
    def segment(marker: int, payload: bytes) -> bytes:
        return bytes([0xFF, marker]) + (len(payload) + 2).to_bytes(2, "big") + payload
    sof = bytes([precision]) + rows.to_bytes(2, "big") + cols.to_bytes(2, "big") + bytes([1, 1, 0x11, 0])
    bits = [0] * 16; bits[4] = 17
    dht = bytes([0x00]) + bytes(bits) + bytes(range(17))
    sos = bytes([1, 1, 0x00, 1, 0, 0])
    return b"\xff\xd8" + segment(0xC3, sof) + segment(0xC4, dht) + segment(0xDA, sos) + bytes(out) + b"\xff\xd9"


def save(ds: Dataset, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    ds.save_as(path, enforce_file_format=True)
    return path


def expected(path: Path, preprocess: dict) -> list[float]:
    """The model input for a `[1, C, H, W]` model, as pydicom and numpy compute it."""
    ds = pydicom.dcmread(path)
    frame = preprocess.get("frame", 0)
    pixels = ds.pixel_array
    if int(ds.get("NumberOfFrames", 1)) > 1:
        pixels = pixels[frame]
    photometric = ds.PhotometricInterpretation
    if ds.SamplesPerPixel == 1:
        values = apply_modality_lut(pixels, ds).astype(np.float64)
        window = preprocess.get("window", "file")
        if window == "file":
            center, width = float(ds.WindowCenter), float(ds.WindowWidth)
        elif window == "none":
            center = width = None
        else:
            center, width = window
        if center is not None:
            low, high = center - 0.5 - (width - 1) / 2, center - 0.5 + (width - 1) / 2
            values = np.where(values <= low, 0.0, np.where(values > high, 1.0, (values - (center - 0.5)) / (width - 1) + 0.5))
            if photometric == "MONOCHROME1":
                values = 1.0 - values
        channels = values[None]
    else:
        rgb = pixels.astype(np.float64)  # pydicom converts YBR_FULL to RGB by default
        channels = np.moveaxis(rgb / 255.0, -1, 0)
        if preprocess.get("color", "grayscale") == "grayscale":
            channels = (0.2126 * channels[0] + 0.7152 * channels[1] + 0.0722 * channels[2])[None]
    # float32, as the engine computes, written with the 9 digits that hold a float32 exactly.
    return [float(f"{v:.9g}") for v in channels.astype(np.float32).reshape(-1)]


def hostile(good: Path) -> dict[str, bytes]:
    """Files a parser must refuse with a typed error, never a panic."""
    data = good.read_bytes()
    pixel_tag = bytes.fromhex("e07f1000")  # (7FE0,0010) little endian
    at = data.rindex(pixel_tag)
    out = {
        "truncated.dcm": data[: len(data) // 2],
        "no_preamble_marker.dcm": b"\0" * 128 + b"DIC?" + data[132:],
        # The Pixel Data element claims 1 GB.
        "length_lies.dcm": data[:at + 8] + (0x40000000).to_bytes(4, "little") + data[at + 12:],
        "no_pixel_data.dcm": data[:at],
    }
    ds = pydicom.dcmread(good)
    ds.Rows = ds.Columns = 65535
    buffer = good.with_name("_huge.dcm")
    save(ds, buffer)
    out["huge_dims.dcm"] = buffer.read_bytes()
    buffer.unlink()
    return out


STUDIES = {
    # name: (kind, syntax, preprocess, frames)
    "ct_implicit": ("ct", ImplicitVRLittleEndian, {"kind": "dicom"}, 1),
    "ct_explicit": ("ct", ExplicitVRLittleEndian, {"kind": "dicom", "window": [-600, 1500]}, 1),
    "ct_explicit_hu": ("ct", ExplicitVRLittleEndian, {"kind": "dicom", "window": "none"}, 1),
    "ct_deflated": ("ct", DeflatedExplicitVRLittleEndian, {"kind": "dicom"}, 1),
    "ct_rle": ("ct", RLELossless, {"kind": "dicom"}, 1),
    "mr_mono1": ("mr_mono1", ExplicitVRLittleEndian, {"kind": "dicom"}, 1),
    "mr_multiframe": ("mr_mono1", ExplicitVRLittleEndian, {"kind": "dicom", "frame": 2}, 3),
    "mr_jpeg_lossless": ("mr_mono1", JPEGLosslessSV1, {"kind": "dicom"}, 1),
    "rgb_explicit": ("rgb", ExplicitVRLittleEndian, {"kind": "dicom", "color": "rgb"}, 1),
    "rgb_gray": ("rgb", ExplicitVRLittleEndian, {"kind": "dicom"}, 1),
    "ybr_explicit": ("ybr", ExplicitVRLittleEndian, {"kind": "dicom", "color": "rgb"}, 1),
    "rgb_jpeg": ("rgb", JPEGBaseline8Bit, {"kind": "dicom", "color": "rgb"}, 1),
}
# Lossy JPEG: two decoders (libjpeg for pydicom, jpeg-decoder for the engine) may differ by a
# step or two of 255; everything else is exact up to float32.
# pydicom rounds its YBR to RGB conversion to whole values.
TOLERANCE = {"rgb_jpeg": 3 / 255, "ybr_explicit": 1 / 255}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUT, help="where to write (default: the engine's test data)")
    out = parser.parse_args().out
    (out / "hostile").mkdir(parents=True, exist_ok=True)
    # 16 characters: the longest a short string (SH: Accession Number, Study ID) may hold.
    canary = "0000000000000000"
    cases = []
    for name, (kind, syntax, preprocess, frames) in STUDIES.items():
        path = save(study(kind, syntax, canary, seed=len(cases), frames=frames), out / f"{name}.dcm")
        ds = pydicom.dcmread(path)
        cases.append({
            "name": name, "file": path.name, "syntax": str(ds.file_meta.TransferSyntaxUID), "preprocess": preprocess,
            "shape": [1, 3 if preprocess.get("color") == "rgb" else 1, int(ds.Rows), int(ds.Columns)],
            "expected": expected(path, preprocess), "tolerance": TOLERANCE.get(name, 1e-5),
        })
    # JPEG 2000 and JPEG-LS, which the engine does not decode: a typed error that names them.
    save(study("mr_mono1", JPEG2000Lossless, canary), out / "hostile" / "jpeg2000.dcm")
    unsupported = study("ct", ExplicitVRLittleEndian, canary)
    unsupported.file_meta.TransferSyntaxUID = JPEGLSLossless
    unsupported.PixelData = encapsulate([b"\xff\xd8\xff\xf7not a real JPEG-LS stream\xff\xd9"])
    save(unsupported, out / "hostile" / "jpeg_ls.dcm")
    for file, data in hostile(out / "ct_explicit.dcm").items():
        (out / "hostile" / file).write_bytes(data)
    # An encapsulated fragment (the JPEG's item after the offset table) that runs past the end.
    jpeg = (out / "rgb_jpeg.dcm").read_bytes()
    item = jpeg.rindex(bytes.fromhex("feff00e0"))
    (out / "hostile" / "fragment_past_end.dcm").write_bytes(jpeg[:item + 4] + (0x7FFFFFF0).to_bytes(4, "little") + jpeg[item + 8:])
    (out / "expected.json").write_text(json.dumps({"canary": canary, "identifying": IDENTIFYING, "cases": cases}, indent=1) + "\n")
    print(f"{len(cases)} studies and {len(list((out / 'hostile').iterdir()))} hostile files in {out}")


if __name__ == "__main__":
    sys.exit(main())
