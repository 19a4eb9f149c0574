"""pedgpt_torch: the PyTorch trainer of the project's stage recipes (pt, sft, dpo; full, LoRA,
MoE-LoRA) for one GPU box or several nodes under torchrun. It reads the same tokenized datasets,
model folders, adapters and checkpoints as the TypeScript engine and writes them in the same
formats, so runs move between the two backends. Needs only torch and numpy.

Not here: recipes, tokenizers, evaluation or serving (the TypeScript side owns them).
"""
__version__ = "0.1.0"
