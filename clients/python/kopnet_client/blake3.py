"""BLAKE3 in pure Python: the plain hash and ``derive_key``.

kopnet uses BLAKE3 for addresses' checksums and transaction hashes
(``derive_key`` with a context string) and for signed requests (the plain
hash of the body). Python's standard library has no BLAKE3, so this is a
direct port of the BLAKE3 reference implementation. It is slow (some
hundred kB/s), which is plenty for keys, transactions and request bodies.
"""

MASK = 0xFFFFFFFF
OUT_LEN = 32
BLOCK_LEN = 64
CHUNK_LEN = 1024

CHUNK_START = 1 << 0
CHUNK_END = 1 << 1
PARENT = 1 << 2
ROOT = 1 << 3
DERIVE_KEY_CONTEXT = 1 << 5
DERIVE_KEY_MATERIAL = 1 << 6

IV = (
    0x6A09E667, 0xBB67AE85, 0x3C6EF372, 0xA54FF53A,
    0x510E527F, 0x9B05688C, 0x1F83D9AB, 0x5BE0CD19,
)
MSG_PERMUTATION = (2, 6, 3, 10, 7, 0, 4, 13, 1, 11, 12, 5, 9, 14, 15, 8)


def _rotr(x, n):
    return ((x >> n) | (x << (32 - n))) & MASK


def _g(s, a, b, c, d, mx, my):
    s[a] = (s[a] + s[b] + mx) & MASK
    s[d] = _rotr(s[d] ^ s[a], 16)
    s[c] = (s[c] + s[d]) & MASK
    s[b] = _rotr(s[b] ^ s[c], 12)
    s[a] = (s[a] + s[b] + my) & MASK
    s[d] = _rotr(s[d] ^ s[a], 8)
    s[c] = (s[c] + s[d]) & MASK
    s[b] = _rotr(s[b] ^ s[c], 7)


def _round(s, m):
    _g(s, 0, 4, 8, 12, m[0], m[1])
    _g(s, 1, 5, 9, 13, m[2], m[3])
    _g(s, 2, 6, 10, 14, m[4], m[5])
    _g(s, 3, 7, 11, 15, m[6], m[7])
    _g(s, 0, 5, 10, 15, m[8], m[9])
    _g(s, 1, 6, 11, 12, m[10], m[11])
    _g(s, 2, 7, 8, 13, m[12], m[13])
    _g(s, 3, 4, 9, 14, m[14], m[15])


def _compress(cv, block_words, counter, block_len, flags):
    s = list(cv) + list(IV[:4]) + [
        counter & MASK, (counter >> 32) & MASK, block_len, flags,
    ]
    m = list(block_words)
    for r in range(7):
        _round(s, m)
        if r < 6:
            m = [m[i] for i in MSG_PERMUTATION]
    for i in range(8):
        s[i] ^= s[i + 8]
        s[i + 8] ^= cv[i]
    return s


def _words(block):
    block = block + bytes(BLOCK_LEN - len(block))
    return [int.from_bytes(block[i:i + 4], "little") for i in range(0, BLOCK_LEN, 4)]


class _Output:
    def __init__(self, cv, block_words, counter, block_len, flags):
        self.cv, self.block_words = cv, block_words
        self.counter, self.block_len, self.flags = counter, block_len, flags

    def chaining_value(self):
        return _compress(self.cv, self.block_words, self.counter,
                         self.block_len, self.flags)[:8]

    def root_bytes(self, length):
        out = bytearray()
        counter = 0
        while len(out) < length:
            words = _compress(self.cv, self.block_words, counter,
                              self.block_len, self.flags | ROOT)
            for w in words:
                out += w.to_bytes(4, "little")
            counter += 1
        return bytes(out[:length])


class _ChunkState:
    def __init__(self, key, chunk_counter, flags):
        self.cv = list(key)
        self.chunk_counter = chunk_counter
        self.block = b""
        self.blocks_compressed = 0
        self.flags = flags

    def __len__(self):
        return BLOCK_LEN * self.blocks_compressed + len(self.block)

    def _start_flag(self):
        return CHUNK_START if self.blocks_compressed == 0 else 0

    def update(self, data):
        while data:
            if len(self.block) == BLOCK_LEN:
                self.cv = _compress(self.cv, _words(self.block), self.chunk_counter,
                                    BLOCK_LEN, self.flags | self._start_flag())[:8]
                self.blocks_compressed += 1
                self.block = b""
            take = min(BLOCK_LEN - len(self.block), len(data))
            self.block += data[:take]
            data = data[take:]

    def output(self):
        return _Output(self.cv, _words(self.block), self.chunk_counter, len(self.block),
                       self.flags | self._start_flag() | CHUNK_END)


def _parent(left_cv, right_cv, key, flags):
    return _Output(list(key), list(left_cv) + list(right_cv), 0, BLOCK_LEN, PARENT | flags)


class Hasher:
    """An incremental BLAKE3 hasher (plain or a derive_key stage)."""

    def __init__(self, key=IV, flags=0):
        self._key = list(key)
        self._flags = flags
        self._chunk = _ChunkState(self._key, 0, flags)
        self._stack = []

    def update(self, data):
        data = bytes(data)
        while data:
            if len(self._chunk) == CHUNK_LEN:
                cv = self._chunk.output().chaining_value()
                total = self._chunk.chunk_counter + 1
                while total & 1 == 0:
                    cv = _parent(self._stack.pop(), cv, self._key, self._flags).chaining_value()
                    total >>= 1
                self._stack.append(cv)
                self._chunk = _ChunkState(self._key, self._chunk.chunk_counter + 1, self._flags)
            take = min(CHUNK_LEN - len(self._chunk), len(data))
            self._chunk.update(data[:take])
            data = data[take:]
        return self

    def digest(self, length=OUT_LEN):
        output = self._chunk.output()
        for cv in reversed(self._stack):
            output = _parent(cv, output.chaining_value(), self._key, self._flags)
        return output.root_bytes(length)


def hash(data):  # noqa: A001 - the algorithm's own name
    """BLAKE3 of ``data``, 32 bytes."""
    return Hasher().update(data).digest()


def derive_key(context, material):
    """BLAKE3 ``derive_key(context, material)``, 32 bytes."""
    context_key = Hasher(IV, DERIVE_KEY_CONTEXT).update(context.encode("utf-8")).digest()
    words = [int.from_bytes(context_key[i:i + 4], "little") for i in range(0, 32, 4)]
    return Hasher(words, DERIVE_KEY_MATERIAL).update(material).digest()
