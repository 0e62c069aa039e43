"""Moved: the detector evaluation is ``python -m tools.train.evaluate``.

Kept because ``benchmarks.stages`` times the engine on the AMI meeting through
``eval_ami``; ``python -m benchmarks.detectors`` runs the new evaluation.
"""

from __future__ import annotations

from tools.train.corpora import eval_ami
from tools.train.evaluate import main

__all__ = ["eval_ami", "main"]

if __name__ == "__main__":
    raise SystemExit(main())
