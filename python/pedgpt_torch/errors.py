"""Typed errors of the torch trainer. Each names the file or plan field and what was expected;
`train.py` writes them to `torch_errors/rank-<r>.json` with their class name as `type`.

Not here: deciding exit codes (the launcher on the TypeScript side turns these into messages).
"""


class PedgptTorchError(Exception):
    """Base class: an expected failure with a message meant for the user."""


class PlanError(PedgptTorchError):
    def __init__(self, file: str, field: str, detail: str):
        super().__init__(f'{file}: field "{field}": {detail}')
        self.file = file
        self.field = field


class FormatError(PedgptTorchError):
    """A file that is not what its name says (safetensors, dataset, adapter, model folder)."""

    def __init__(self, file: str, detail: str):
        super().__init__(f"{file}: {detail}")
        self.file = file


class CheckpointCorruptError(FormatError):
    pass


class RecipeMismatchError(PedgptTorchError):
    def __init__(self, checkpoint: str, differences: list):
        shown = "; ".join(differences[:8]) + ("; …" if len(differences) > 8 else "")
        super().__init__(f"{checkpoint}: the checkpoint was written by another recipe, refusing to resume ({shown}); start over with overwrite or use the same settings")


class RunConflictError(PedgptTorchError):
    def __init__(self, path: str, detail: str):
        super().__init__(f"{path}: {detail}")


class DeviceError(PedgptTorchError):
    pass


class TrainingError(PedgptTorchError):
    pass


class AdapterError(PedgptTorchError):
    pass
