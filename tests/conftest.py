import sys
from pathlib import Path

# tests/reference.py holds the slow references the kernels are checked against.
sys.path.insert(0, str(Path(__file__).parent))
