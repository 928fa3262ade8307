"""HPACK decoding (RFC 7541, stdlib only) for the test clients: the static table, the
Huffman code (encoding too, for the self-tests) and a decoder keeping the dynamic table.
Used by masque.py (and its --selftest) and limitpeer.py."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from h2connect import H2Error  # noqa: E402

STATIC_TABLE = [(n.encode(), v.encode()) for n, v in (
    (":authority", ""), (":method", "GET"), (":method", "POST"), (":path", "/"),
    (":path", "/index.html"), (":scheme", "http"), (":scheme", "https"), (":status", "200"),
    (":status", "204"), (":status", "206"), (":status", "304"), (":status", "400"),
    (":status", "404"), (":status", "500"), ("accept-charset", ""),
    ("accept-encoding", "gzip, deflate"), ("accept-language", ""), ("accept-ranges", ""),
    ("accept", ""), ("access-control-allow-origin", ""), ("age", ""), ("allow", ""),
    ("authorization", ""), ("cache-control", ""), ("content-disposition", ""),
    ("content-encoding", ""), ("content-language", ""), ("content-length", ""),
    ("content-location", ""), ("content-range", ""), ("content-type", ""), ("cookie", ""),
    ("date", ""), ("etag", ""), ("expect", ""), ("expires", ""), ("from", ""), ("host", ""),
    ("if-match", ""), ("if-modified-since", ""), ("if-none-match", ""), ("if-range", ""),
    ("if-unmodified-since", ""), ("last-modified", ""), ("link", ""), ("location", ""),
    ("max-forwards", ""), ("proxy-authenticate", ""), ("proxy-authorization", ""),
    ("range", ""), ("referer", ""), ("refresh", ""), ("retry-after", ""), ("server", ""),
    ("set-cookie", ""), ("strict-transport-security", ""), ("transfer-encoding", ""),
    ("user-agent", ""), ("vary", ""), ("via", ""), ("www-authenticate", ""),
)]

# Code lengths of symbols 0..256 (256 = EOS) of the Huffman code of RFC 7541 Appendix B,
# one letter each ('A' = 5 bits ... 'Z' = 30 bits). The code is canonical: codes are
# handed out in (length, symbol) order, which rebuilds Appendix B exactly.
HUFFMAN_LENGTHS = (
    "ISXXXXXXXTZXXZXXXXXXXXZXXXXXXXXXBFFHIBDGFFDGDBBBAAABBBBBBBCDKBHFIBCCCCCCCCCCCCCCCCCC"
    "CCCCDCDIOIJBKABABABBBACCBBBABCBAABCCCCCKGJIXPRPPRRRSRSSSSSTSTTRSTSSSSQRSRSSTRQPRRSSQS"
    "RRTQRSSQQRQSRSSPRRRSRRSVVPORSRUVVVWWVTUOQVWWVWTQQVVXWWWPTPQRQQSRRUUTTVSVWVVWWWWWXWWWW"
    "WVZ"
)


def _huffman_table():
    lengths = [ord(c) - ord("A") + 5 for c in HUFFMAN_LENGTHS]
    table, code, prev = {}, 0, 5
    for sym in sorted(range(257), key=lambda s: (lengths[s], s)):
        code <<= lengths[sym] - prev
        prev = lengths[sym]
        table[sym] = (code, prev)
        code += 1
    return table


HUFFMAN = _huffman_table()  # symbol -> (code, bits)
HUFFMAN_DECODE = {v: k for k, v in HUFFMAN.items()}


def huffman_encode(data):
    acc = nbits = 0
    for b in data:
        code, n = HUFFMAN[b]
        acc, nbits = (acc << n) | code, nbits + n
    pad = -nbits % 8
    return ((acc << pad) | ((1 << pad) - 1)).to_bytes((nbits + pad) // 8, "big")


def huffman_decode(data):
    out = bytearray()
    code = bits = 0
    for byte in data:
        for shift in range(7, -1, -1):
            code = (code << 1) | ((byte >> shift) & 1)
            bits += 1
            sym = HUFFMAN_DECODE.get((code, bits))
            if sym == 256:
                raise H2Error("HPACK: EOS inside a Huffman string")
            if sym is not None:
                out.append(sym)
                code = bits = 0
            elif bits >= 30:
                raise H2Error("HPACK: bad Huffman code")
    if bits > 7 or code != (1 << bits) - 1:
        raise H2Error("HPACK: bad Huffman padding")
    return bytes(out)


def hpack_read_int(block, pos, prefix_bits):
    if pos >= len(block):
        raise H2Error("HPACK: truncated header block")
    limit = (1 << prefix_bits) - 1
    value = block[pos] & limit
    pos += 1
    if value < limit:
        return value, pos
    shift = 0
    while True:
        if pos >= len(block) or shift > 28:
            raise H2Error("HPACK: bad integer")
        b = block[pos]
        pos += 1
        value += (b & 127) << shift
        shift += 7
        if not b & 128:
            return value, pos


def hpack_read_str(block, pos):
    huffman = pos < len(block) and block[pos] & 0x80
    n, pos = hpack_read_int(block, pos, 7)
    if pos + n > len(block):
        raise H2Error("HPACK: truncated string")
    raw = bytes(block[pos : pos + n])
    return (huffman_decode(raw) if huffman else raw), pos + n


class HpackDecoder:
    def __init__(self, max_size=4096):
        self.dynamic = []  # newest first
        self.size = 0
        self.max_size = self.limit = max_size

    def entry(self, idx):
        if 1 <= idx <= len(STATIC_TABLE):
            return STATIC_TABLE[idx - 1]
        if 0 <= idx - len(STATIC_TABLE) - 1 < len(self.dynamic):
            return self.dynamic[idx - len(STATIC_TABLE) - 1]
        raise H2Error("HPACK: bad index %d" % idx)

    def evict(self):
        while self.size > self.max_size:
            name, value = self.dynamic.pop()
            self.size -= len(name) + len(value) + 32

    def decode(self, block):
        """List of (name, value) str pairs of one header block."""
        fields, pos = [], 0
        while pos < len(block):
            first = block[pos]
            if first & 0x80:  # indexed field
                idx, pos = hpack_read_int(block, pos, 7)
                fields.append(self.entry(idx))
                continue
            if first & 0xE0 == 0x20:  # dynamic table size update
                size, pos = hpack_read_int(block, pos, 5)
                if size > self.limit:
                    raise H2Error("HPACK: table size %d over %d" % (size, self.limit))
                self.max_size = size
                self.evict()
                continue
            idx, pos = hpack_read_int(block, pos, 6 if first & 0x40 else 4)
            if idx:
                name = self.entry(idx)[0]
            else:
                name, pos = hpack_read_str(block, pos)
            value, pos = hpack_read_str(block, pos)
            if first & 0x40:  # incremental indexing
                self.dynamic.insert(0, (name, value))
                self.size += len(name) + len(value) + 32
                self.evict()
            fields.append((name, value))
        return [(n.decode("latin-1"), v.decode("latin-1")) for n, v in fields]
