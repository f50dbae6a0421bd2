#!/usr/bin/env python3
"""Makes crates/web/fonts/wqy-microhei-cjk.ttf.gz, the CJK font the PDF writer embeds when the
machine has none (crates/web/src/pdf.rs): face 0 of Debian's WenQuanYi Micro Hei
(fonts-wqy-microhei, Apache-2.0) cut to ASCII, GB 2312, the CJK Unified Ideographs block
U+4E00-U+9FA5, CJK symbols and punctuation, and half/full-width forms; hinting and layout
tables dropped (the writer sets plain horizontal text). Needs `pip install fonttools`.

    python3 scripts/make-pdf-font.py [/usr/share/fonts/truetype/wqy/wqy-microhei.ttc]
"""
import gzip
import os
import sys

from fontTools import subset

src = sys.argv[1] if len(sys.argv) > 1 else "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"
out = os.path.join(os.path.dirname(__file__), "..", "crates", "web", "fonts", "wqy-microhei-cjk.ttf.gz")

chars = set(range(0x20, 0x7F)) | {0xA0, 0xA7, 0xB0, 0xB1, 0xB7, 0xD7, 0xF7}
for hi in range(0xA1, 0xF8):
    for lo in range(0xA1, 0xFF):
        try:
            chars.add(ord(bytes([hi, lo]).decode("gb2312")))
        except UnicodeDecodeError:
            pass
chars |= set(range(0x4E00, 0x9FA6))  # CJK Unified Ideographs (GBK's hanzi)
chars |= set(range(0x3000, 0x3040))  # CJK symbols and punctuation
chars |= set(range(0xFF00, 0xFFF0))  # half- and full-width forms
chars |= set(range(0x2010, 0x2040))  # general punctuation: dashes, quotes, ellipsis

opts = subset.Options()
opts.font_number = 0
opts.hinting = False
opts.layout_features = []
opts.name_IDs = ["*"]
opts.notdef_outline = True
opts.drop_tables += ["GSUB", "GPOS", "GDEF", "DSIG", "FFTM"]
font = subset.load_font(src, opts)
s = subset.Subsetter(opts)
s.populate(unicodes=chars)
s.subset(font)
tmp = out + ".tmp.ttf"
subset.save_font(font, tmp, opts)
with open(tmp, "rb") as f, gzip.GzipFile(out, "wb", compresslevel=9, mtime=0) as g:
    g.write(f.read())
os.remove(tmp)
print(f"{out}: {os.path.getsize(out)} bytes, {len(chars)} code points asked")
