"""Generates the packaging benchmark's input: FILES files totalling about
MB megabytes under DIR, compressible text (source-like lines) and, for
RANDOM_PCT per cent of the files (default 25), incompressible bytes, in
nested directories. Deterministic (fixed seed), so every run packages the
same tree.

    python3 gen_tree.py DIR FILES MB [RANDOM_PCT]"""

import os
import random
import sys

out, files, megabytes = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
random_pct = int(sys.argv[4]) if len(sys.argv) > 4 else 25
rng = random.Random(42)
per_file = megabytes * 1024 * 1024 // files
words = ["def", "return", "self", "value", "import", "for", "in", "if", "else", "data", "name", "items"]
os.makedirs(out, exist_ok=True)
with open(os.path.join(out, "handler.py"), "w") as fh:
    fh.write("def handler(event, context):\n    return {'statusCode': 200}\n")
for i in range(files - 1):
    d = os.path.join(out, "pkg%02d" % (i % 50), "mod%03d" % (i % 400))
    os.makedirs(d, exist_ok=True)
    size = max(64, int(per_file * rng.uniform(0.5, 1.5)))
    if (i * random_pct) % 100 >= random_pct or random_pct == 0:
        lines = []
        total = 0
        while total < size:
            line = " ".join(rng.choice(words) for _ in range(8)) + "\n"
            lines.append(line)
            total += len(line)
        with open(os.path.join(d, "f%05d.py" % i), "w") as fh:
            fh.write("".join(lines))
    else:
        with open(os.path.join(d, "f%05d.bin" % i), "wb") as fh:
            fh.write(rng.randbytes(size))
