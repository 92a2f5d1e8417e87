"""The synthetic demo dataset, written in the real interchange formats (``borderwatch demo``).

Everything it writes is illustrative. ``generate`` writes the files and a ground truth of what
was planted; ``etl.demo.load.load_demo`` generates and loads them through the real loaders.
"""

from etl.demo.generate import ILLUSTRATIVE, DemoFiles, DemoSpec, generate

__all__ = ["ILLUSTRATIVE", "DemoFiles", "DemoSpec", "generate"]
