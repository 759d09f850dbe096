"""A progressive JPEG cut down to the scans a decode at 1/8 scale reads: the same pixels from a fraction of the bytes.

At 1/8 scale (Pillow's draft mode for a photo at least 8x the model's input on both sides) libjpeg-turbo turns each
8x8 block of a full-resolution component into one pixel from its DC coefficient alone. A progressive JPEG sends DC
coefficients in their own scans, apart from the AC scans, which hold most of the file; decoding only what is read
took a 16 MB, 18 MP wallpaper from 0.60 to 0.20 s of CPU. Two things keep more than the DC scans:
- libjpeg-turbo's block smoothing estimates the DC of a component none of whose AC coefficients 1-9 arrived, so
  such a component keeps its first scan of low AC coefficients (then its DC is used as sent);
- a subsampled component (4:2:0 chroma) is decoded at 2x2 per block, from its AC coefficients: all its scans stay.
When the file sends every coefficient 0..9 of every component to its last bit (encoders' usual progression), decoding
it whole smooths no block, so the one-pixel components' AC scans are replaced by empty ones (each block ends at once):
with all coefficients known the decoder skips smoothing too, and reads neither those scans nor the first low AC scan
(the 18 MP wallpaper: 0.12 to 0.08 s; 8 MP: 58 to 30 ms).
The pixels equal a decode of the whole file (tests/test_jpeg_scans.py); anything unexpected decodes the whole file.
"""

from __future__ import annotations

import re
import struct
from dataclasses import dataclass

SOS = 0xDA
PROGRESSIVE_HUFFMAN = 0xC2  # SOF2; other codings are left alone
FRAME_HEADERS = set(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}  # SOFn (C4 DHT, C8 reserved, CC DAC)
SMOOTHED_DC_UNLESS = 9  # libjpeg-turbo smooths a component's DC while none of AC coefficients 1..9 has arrived
# In scan data 0xFF is followed by 0x00 (a stuffed byte), RSTn or more 0xFF (fill): anything else is a marker.
_MARKER_AFTER_SCAN = re.compile(rb"\xff(?![\x00\xd0-\xd7\xff])")


@dataclass(frozen=True)
class Scan:
    components: frozenset[int]
    spectral_start: int  # Ss: 0 for a DC scan
    refinement: bool  # Ah > 0
    spectral_end: int = 0  # Se
    low_bit: int = 0  # Al: 0 when the scan's coefficients are complete after it


def reduced_for_eighth_scale(data: bytes) -> bytes | None:
    """The scans of a Huffman-coded progressive JPEG that a 1/8-scale decode needs, with every other marker segment,
    in order; None for any other file (baseline, damaged, unusual), which is then decoded whole."""
    parts = _segments(data)
    if parts is None:
        return None
    frame = next((segment for marker, segment, _ in parts if marker in FRAME_HEADERS), None)
    if frame is None or frame[1] != PROGRESSIVE_HUFFMAN:
        return None
    sampling = _sampling(frame[4:])
    if sampling is None:
        return None
    one_pixel_per_block = _one_pixel_per_block(sampling)
    scans = [scan for _, _, scan in parts if scan is not None]
    if _complete(scans, set(sampling)):
        # No coefficient is left to estimate, so the decoder does no block smoothing (as for the whole file), and the
        # AC coefficients of a component decoded one pixel per block are never read: an empty scan stands in for them.
        kept = [segment for _, segment, scan in parts if scan is None or scan.spectral_start == 0
                or not scan.components <= one_pixel_per_block]  # fmt: skip
        empty = [_empty_ac_scan(c, _blocks(frame, sampling, c)) for c in sorted(one_pixel_per_block)]
        return data[:2] + b"".join(kept) + EMPTY_AC_TABLE + NO_RESTARTS + b"".join(empty) + b"\xff\xd9"
    first_low_ac: dict[int, int] = {}  # component -> index of its first scan of some AC coefficients 1..9
    for index, (_, _, scan) in enumerate(parts):
        if scan is None or scan.spectral_start == 0 or scan.refinement or len(scan.components) != 1:
            continue
        if scan.spectral_start <= SMOOTHED_DC_UNLESS:
            first_low_ac.setdefault(next(iter(scan.components)), index)
    if not one_pixel_per_block <= set(first_low_ac):
        return None  # a component's DC would be smoothed: not the whole file's pixels
    kept_scans = {first_low_ac[component] for component in one_pixel_per_block}
    kept = [
        segment
        for index, (_, segment, scan) in enumerate(parts)
        if scan is None or scan.spectral_start == 0 or index in kept_scans or not scan.components <= one_pixel_per_block
    ]
    return data[:2] + b"".join(kept) + b"\xff\xd9"


def _complete(scans: list[Scan], components: set[int]) -> bool:
    """Whether every component's DC and AC coefficients 1..9 end with a scan to the last bit (Al 0): then libjpeg-turbo
    smooths no block when it decodes the whole file (jdcoefct.c, smoothing_ok)."""
    done = {(c, k) for scan in scans if scan.low_bit == 0 for c in scan.components
            for k in range(scan.spectral_start, min(scan.spectral_end, SMOOTHED_DC_UNLESS) + 1)}  # fmt: skip
    return all((c, k) in done for c in components for k in range(SMOOTHED_DC_UNLESS + 1))


def _blocks(frame: bytes, sampling: dict[int, tuple[int, int]], component: int) -> int:
    """The 8x8 blocks of a component in a scan of it alone (jdinput.c: width_in_blocks x height_in_blocks)."""
    height, width = struct.unpack(">HH", frame[5:9])
    max_h, max_v = max(h for h, _ in sampling.values()), max(v for _, v in sampling.values())
    h, v = sampling[component]
    return -(-width * h // (8 * max_h)) * -(-height * v // (8 * max_v))


# An AC Huffman table (class 1, table 0) of the end-of-band runs EOB0..EOB14, each a 4-bit code: EOBr is code r.
EMPTY_AC_TABLE = (
    b"\xff\xc4"
    + struct.pack(">H", 2 + 1 + 16 + 15)
    + b"\x10"
    + bytes([0, 0, 0, 15] + [0] * 12)
    + bytes(range(0, 0xF0, 0x10))
)
NO_RESTARTS = b"\xff\xdd\x00\x04\x00\x00"  # DRI 0: the empty scans have no restart markers
LONGEST_RUN = (1 << 15) - 1  # EOB14 with 14 extra bits


def _empty_ac_scan(component: int, blocks: int) -> bytes:
    """A first AC scan of coefficients 1..63 to the last bit (Ss 1, Se 63, Ah 0, Al 0) in which every block ends at
    once: runs of end-of-band codes, so each of those coefficients is known, and zero."""
    bits, count = 0, 0
    while blocks:
        run = min(blocks, LONGEST_RUN)
        blocks -= run
        extra = run.bit_length() - 1
        bits = (bits << (4 + extra)) | (extra << extra) | (run - (1 << extra))
        count += 4 + extra
    padding = -count % 8
    coded = (((bits << padding) | ((1 << padding) - 1)) if count else 0).to_bytes((count + padding) // 8, "big")
    header = b"\xff\xda" + struct.pack(">HBBBBBB", 8, 1, component, 0x00, 1, 63, 0x00)
    return header + coded.replace(b"\xff", b"\xff\x00")


def _segments(data: bytes) -> list[tuple[int, bytes, Scan | None]] | None:
    """(marker, bytes, scan or None) of each segment after SOI up to EOI; a scan's bytes include its data."""
    if data[:2] != b"\xff\xd8":
        return None
    parts: list[tuple[int, bytes, Scan | None]] = []
    position = 2
    while True:
        while data[position : position + 2] == b"\xff\xff":  # fill bytes before a marker
            position += 1
        if data[position : position + 2] == b"\xff\xd9":
            return parts
        if position + 4 > len(data) or data[position] != 0xFF:
            return None
        marker = data[position + 1]
        (length,) = struct.unpack(">H", data[position + 2 : position + 4])
        end = position + 2 + length
        if length < 2 or end > len(data) or not 0xC0 <= marker <= 0xFE or 0xD0 <= marker <= 0xD8:
            return None
        if marker != SOS:
            parts.append((marker, data[position:end], None))
            position = end
            continue
        scan = _scan(data[position + 4 : end])
        found = _MARKER_AFTER_SCAN.search(data, end)
        if scan is None or found is None:
            return None
        parts.append((marker, data[position : found.start()], scan))
        position = found.start()


def _scan(header: bytes) -> Scan | None:
    """The scan header after its length: Ns, (Cs, Td/Ta) * Ns, Ss, Se, Ah/Al."""
    if not header or len(header) != 1 + 2 * header[0] + 3:
        return None
    count = header[0]
    start, end, bits = header[1 + 2 * count : 4 + 2 * count]
    return Scan(frozenset(header[1 : 1 + 2 * count : 2]), start, bits >> 4 > 0, end, bits & 15)


def _sampling(frame: bytes) -> dict[int, tuple[int, int]] | None:
    """Component id -> (horizontal, vertical) sampling factors, from the frame header after its length."""
    if len(frame) < 6 or len(frame) != 6 + 3 * frame[5] or frame[5] == 0:
        return None
    factors = {frame[6 + 3 * i]: (frame[7 + 3 * i] >> 4, frame[7 + 3 * i] & 15) for i in range(frame[5])}
    return None if any(h == 0 or v == 0 for h, v in factors.values()) else factors


def _one_pixel_per_block(sampling: dict[int, tuple[int, int]]) -> set[int]:
    """The components libjpeg-turbo decodes at 1x1 per block at 1/8 scale. jdmaster.c doubles a component's IDCT
    size while the largest factors are multiples of twice its own, so that it needs no upsampling."""
    max_h, max_v = max(h for h, _ in sampling.values()), max(v for _, v in sampling.values())
    return {c for c, (h, v) in sampling.items() if not (max_h % (2 * h) == 0 and max_v % (2 * v) == 0)}
