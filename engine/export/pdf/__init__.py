"""PDF export: worksheets and an answer key typeset by Typst, TeX math converted by pandoc.

`markup` turns exercise Markdown into Typst markup with the math left as slots, `texmath` fills
the slots in one pandoc run, `writer` lays the sheets out (templates/pdf/) and compiles them.
"""
