#!/usr/bin/env python3
"""Turn a compiled BPF object into a C file (const bytes + length), so a
binary carries its BPF programs inside and needs no install path.
Usage: embed.py OBJECT SYMBOL OUTPUT.c   (used by io/ and rs/)"""
import sys

obj, sym, out = sys.argv[1:4]
data = open(obj, "rb").read()
with open(out, "w") as f:
    f.write(f"/* Generated from {obj.rsplit('/', 1)[-1]} by bpf/embed.py; do not edit. */\n")
    f.write("#include <stddef.h>\n")
    f.write(f"extern const unsigned char {sym}[];\nextern const size_t {sym}_len;\n")
    # libbpf parses the ELF in place: keep it 8-byte aligned.
    f.write(f"const unsigned char {sym}[] __attribute__((aligned(8))) = {{\n")
    for i in range(0, len(data), 16):
        f.write("\t" + "".join(f"0x{b:02x}," for b in data[i:i + 16]) + "\n")
    f.write(f"}};\nconst size_t {sym}_len = {len(data)};\n")
