"""Shared helpers of the unittest suite: paths of committed fixtures and temporary folders."""
import os
import shutil
import tempfile
import unittest

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
FIXTURES = os.path.join(REPO, "test", "fixtures", "torch")


class TempDirCase(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="pedgpt-torch-test-")

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)
