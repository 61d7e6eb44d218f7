"""Moodle XML export: one question category per exercise template holding its N variants.

Each exercise becomes ``<question type="category">`` ``$course$/top/<bank title>/<exercise
title>`` followed by one question per variant, so a quiz slot "random question from category"
gives every student a different variant. The mapping (checked against Moodle's own importer,
``question/format/xml/format.php`` and ``question/format.php``; see docs/moodle.md):

- ``concept``/``scenario``/``choice`` → ``multichoice``: one answer, numbered ``123``, fraction
  100 on the correct option and 0 on the others, each distractor with its misconception feedback;
  ``shuffleanswers`` on only where the exercise shuffles, pins no option and no text names an
  option by its number ("Answer: ③"), else the variant's order.
- ``true_false`` → ``truefalse``: answers ``true``/``false``, 100/0, the wrong one with feedback.
- ``integer`` → ``numerical`` with tolerance 0; ``numeric`` → ``numerical`` with the absolute
  tolerance (a relative one times |answer|), the answer as a plain 20-digit decimal. Every
  misconception follows as a 0 answer with its feedback, its interval kept clear of the correct
  one (Moodle takes the first answer whose interval holds the response; the correct one is first).
- ``formula`` → Moodle cannot check symbolic equivalence: ``multichoice`` built from the correct
  formula and the template's distractors (exact, distinct values, so Moodle grades it right),
  or, without distractors, an ``essay`` graded by hand with the formula as grader information.
  The category info and a note in the question say so.
- ``multipart`` → one ``multianswer`` (Cloze) question per variant, its parts NUMERICAL and
  MULTICHOICE_V sub-questions; a formula part makes linked questions instead, one category per
  part (``cloze``).

A category never holds two identical questions: a variant whose question (all but its name and
idnumber; the answers as a set when shuffled) was written already is left out, and a note says
so. Every question but an essay has hints (the exercise's, or one by type), so that "Interactive
with multiple tries" gives more than one try. Names are written with ``&<>`` as entities, which
Moodle's PARAM_TEXT cleaning keeps and format_string shows as the characters.

Penalty (used only by the adaptive and interactive behaviours): 1/(options − 1) for a
multichoice or truefalse question, so trying every option in turn earns nothing (1 for
true/false, Moodle's own default there); 0.3333333 (Moodle's default) for numerical; 0 for an
essay. ``defaultgrade`` is the exercise's points. ``idnumber`` is the variant id
``<exercise>.<seed>.<n>`` (≤ 100 characters, unique in its category).

Texts are HTML from :mod:`engine.export.html` on one line (Moodle's XML parser drops whitespace-only
pieces of character data, and a newline arrives as a piece of its own), always in CDATA when
they contain markup or characters XML would escape (as Moodle's own exporter does), with ``]]>``
split; the XML is produced by autoescaping templates in ``templates/moodle/``. The question
template is rendered once per question shape into a skeleton, bound once per exercise to its
grade, penalty and tags, whose slots are filled per question: the same bytes as rendering it per
question.

Modules: ``xml`` (XML text, numbers, names, category paths), ``wording`` (hints, a formula stem as
a choice, option numbers in a text), ``questions`` (variant → MoodleQuestion),
``cloze`` (the parts of a multi-part variant → one Cloze question),
``render`` (MoodleQuestion → ``<question>`` XML) and ``writer`` (the file).
"""
