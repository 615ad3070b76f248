"""Read struct member offsets from the running kernel's BTF (/sys/kernel/btf/vmlinux).

The kernel headers BCC compiles against may belong to another kernel version (Debian 6.1 headers on a 6.18
kernel here), so nitrace never trusts their struct layouts. The few fields the probes read from `struct sock`,
`struct tcp_sock`, `struct net` and `struct task_struct` are located here and handed to the BPF program as -D defines.

Format: https://docs.kernel.org/bpf/btf.html (header, type section, string section).
Run directly to print the offsets: /usr/bin/python3 capture/btf_offsets.py
"""
import struct
import sys

BTF_PATH = "/sys/kernel/btf/vmlinux"
BTF_MAGIC = 0xEB9F

# BTF kinds (include/uapi/linux/btf.h)
KIND_INT, KIND_PTR, KIND_ARRAY, KIND_STRUCT, KIND_UNION, KIND_ENUM, KIND_FWD, KIND_TYPEDEF = 1, 2, 3, 4, 5, 6, 7, 8
KIND_VOLATILE, KIND_CONST, KIND_RESTRICT, KIND_FUNC, KIND_FUNC_PROTO, KIND_VAR, KIND_DATASEC = 9, 10, 11, 12, 13, 14, 15
KIND_FLOAT, KIND_DECL_TAG, KIND_TYPE_TAG, KIND_ENUM64 = 16, 17, 18, 19

# Bytes that follow `struct btf_type` for each kind, as (fixed, per-vlen-item).
TRAILER = {
    KIND_INT: (4, 0), KIND_ARRAY: (12, 0), KIND_STRUCT: (0, 12), KIND_UNION: (0, 12), KIND_ENUM: (0, 8),
    KIND_FUNC_PROTO: (0, 8), KIND_VAR: (4, 0), KIND_DATASEC: (0, 12), KIND_DECL_TAG: (4, 0), KIND_ENUM64: (0, 12),
}
MODIFIERS = (KIND_TYPEDEF, KIND_VOLATILE, KIND_CONST, KIND_RESTRICT, KIND_TYPE_TAG)


class Btf:
    def __init__(self, path=BTF_PATH):
        with open(path, "rb") as f:
            data = f.read()
        magic, _ver, _flags, hdr_len, type_off, type_len, str_off, str_len = struct.unpack_from("<HBBIIIII", data, 0)
        if magic != BTF_MAGIC:
            raise ValueError(f"btf: {path} is not BTF (magic {magic:#x})")
        self.strings = data[hdr_len + str_off: hdr_len + str_off + str_len]
        self.types = [None]  # type id 0 is void
        self.by_name = {}
        pos, end = hdr_len + type_off, hdr_len + type_off + type_len
        while pos < end:
            name_off, info, size_or_type = struct.unpack_from("<III", data, pos)
            pos += 12
            kind, vlen, kind_flag = (info >> 24) & 0x1F, info & 0xFFFF, info >> 31
            fixed, per_item = TRAILER.get(kind, (0, 0))
            members = []
            if kind in (KIND_STRUCT, KIND_UNION):
                for i in range(vlen):
                    m_name, m_type, m_off = struct.unpack_from("<III", data, pos + i * 12)
                    members.append((self._str(m_name), m_type, m_off & 0xFFFFFF if kind_flag else m_off))
            pos += fixed + per_item * vlen
            name = self._str(name_off)
            self.types.append((kind, name, size_or_type, members))
            if kind in (KIND_STRUCT, KIND_UNION) and name and members:
                self.by_name.setdefault(name, len(self.types) - 1)

    def _str(self, off):
        return self.strings[off: self.strings.index(b"\0", off)].decode()

    def _resolve(self, type_id):
        """Follow typedef/const/volatile to the underlying type id."""
        while self.types[type_id][0] in MODIFIERS:
            type_id = self.types[type_id][2]
        return type_id

    def _find(self, type_id, member):
        """Bit offset of `member` inside struct/union `type_id`, looking into anonymous members; None if absent."""
        for name, m_type, bit_off in self.types[type_id][3]:
            if name == member:
                return bit_off, m_type
            if not name:
                inner = self._resolve(m_type)
                if self.types[inner][0] in (KIND_STRUCT, KIND_UNION):
                    found = self._find(inner, member)
                    if found is not None:
                        return bit_off + found[0], found[1]
        return None

    def offset(self, path):
        """Byte offset of 'struct.member[.member...]', e.g. 'net.ns.inum'."""
        struct_name, *members = path.split(".")
        if struct_name not in self.by_name:
            raise KeyError(f"btf: no struct {struct_name} in {BTF_PATH}")
        type_id, total = self.by_name[struct_name], 0
        for member in members:
            found = self._find(self._resolve(type_id), member)
            if found is None:
                raise KeyError(f"btf: no member {member} in {path}")
            total += found[0]
            type_id = found[1]
        if total % 8:
            raise ValueError(f"btf: {path} is a bitfield")
        return total // 8


# The fields the probes read, by the -D name nitrace.bpf.c uses.
FIELDS = {
    "OFF_SKC_DADDR": "sock_common.skc_daddr",
    "OFF_SKC_RCV_SADDR": "sock_common.skc_rcv_saddr",
    "OFF_SKC_DPORT": "sock_common.skc_dport",
    "OFF_SKC_NUM": "sock_common.skc_num",
    "OFF_SKC_FAMILY": "sock_common.skc_family",
    "OFF_SKC_NET": "sock_common.skc_net",
    "OFF_SKC_V6_DADDR": "sock_common.skc_v6_daddr",
    "OFF_SKC_V6_RCV_SADDR": "sock_common.skc_v6_rcv_saddr",
    "OFF_NET_NS_INUM": "net.ns.inum",
    "OFF_TCP_WRITE_SEQ": "tcp_sock.write_seq",
    "OFF_TCP_COPIED_SEQ": "tcp_sock.copied_seq",
    "OFF_TCP_RCV_NXT": "tcp_sock.rcv_nxt",
    "OFF_SKC_STATE": "sock_common.skc_state",
    "OFF_SK_PROTOCOL": "sock.sk_protocol",
    "OFF_TASK_FLAGS": "task_struct.flags",
    "OFF_TASK_PID": "task_struct.pid",
    "OFF_TASK_TGID": "task_struct.tgid",
}


def kernel_offsets(path=BTF_PATH):
    btf = Btf(path)
    return {define: btf.offset(field) for define, field in FIELDS.items()}


if __name__ == "__main__":
    for k, v in kernel_offsets(sys.argv[1] if len(sys.argv) > 1 else BTF_PATH).items():
        print(f"{k}={v}")
