"""The random-stream port against draws written by the TypeScript engine
(scripts/fixtures/torch_streams.ts → test/fixtures/torch/streams.json)."""
import json
import os
import unittest

from pedgpt_torch.streams import FixedNoise, ItemOrder, Rng, epoch_order, fnv1a32, stream_seed

from .util import FIXTURES


class StreamsMatchEngine(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        with open(os.path.join(FIXTURES, "streams.json"), encoding="utf-8") as f:
            cls.fx = json.load(f)

    def test_stream_seed(self):
        for c in self.fx["streamSeed"]:
            self.assertEqual(stream_seed(*c["args"]), c["value"], c["args"])

    def test_rng_u32_uniform_normal(self):
        for c in self.fx["rng"]:
            r = Rng(c["seed"])
            self.assertEqual([r.next_u32() for _ in c["u32"]], c["u32"])
            r = Rng(c["seed"])
            self.assertEqual([r.uniform() for _ in c["uniform"]], c["uniform"])
            r = Rng(c["seed"])
            for got, want in zip([r.normal() for _ in c["normal"]], c["normal"]):
                self.assertAlmostEqual(got, want, delta=1e-12 * max(1.0, abs(want)))

    def test_epoch_order(self):
        for c in self.fx["epochOrder"]:
            self.assertEqual(epoch_order(c["size"], c["seed"], c["epoch"], True), c["order"])
        self.assertEqual(epoch_order(5, 1, 0, False), [0, 1, 2, 3, 4])

    def test_item_order_crosses_epochs(self):
        c = self.fx["itemOrder"]
        o = ItemOrder(c["size"], c["seed"], True)
        self.assertEqual([o.next(c["batchSize"]) for _ in c["batches"]], c["batches"])
        self.assertEqual(o.state(), c["state"])
        self.assertAlmostEqual(o.epochs, c["epochs"])
        self.assertIsNone(ItemOrder.mismatch(c["size"], c["seed"], True, c["state"]))
        bad = dict(c["state"], order=list(reversed(c["state"]["order"])))
        self.assertIn("differs at position", ItemOrder.mismatch(c["size"], c["seed"], True, bad))
        resumed = ItemOrder(c["size"], c["seed"], True, c["state"])
        again = ItemOrder(c["size"], c["seed"], True, c["state"])
        self.assertEqual(resumed.next(5), again.next(5))

    def test_fnv1a32(self):
        for c in self.fx["fnv1a32"]:
            self.assertEqual(fnv1a32(c["text"]), c["value"], c["text"])

    def test_fixed_noise(self):
        c = self.fx["fixedNoise"]
        vals = FixedNoise(c["seed"], 3).values(c["module"], 4)
        for got, want in zip(vals, c["values"]):
            self.assertAlmostEqual(got, want, delta=1e-12 * max(1.0, abs(want)))


if __name__ == "__main__":
    unittest.main()
