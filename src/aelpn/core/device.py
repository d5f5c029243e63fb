"""Device selection: ``auto`` is CUDA when visible, else CPU. No code path assumes CUDA."""

from __future__ import annotations

import contextlib
import os

import torch

# Set by SLURM (gres/gpu) in a job that was given GPUs; CUDA_VISIBLE_DEVICES also by other schedulers.
GPU_ASSIGNMENT_VARIABLES = ("CUDA_VISIBLE_DEVICES", "SLURM_JOB_GPUS", "SLURM_STEP_GPUS")
GPU_ASSIGNMENT_PREFIX = "SLURM_GPUS"


class DeviceError(RuntimeError):
    """The job was given a GPU that torch cannot use; the message says what to install or set."""


def _assigns_gpu(name: str, value: str) -> bool:
    value = value.strip()
    if name.startswith(GPU_ASSIGNMENT_PREFIX):  # counts or gres strings: "0" means none
        return value not in ("", "0")
    return name in GPU_ASSIGNMENT_VARIABLES and value not in ("", "-1", "NoDevFiles")  # device lists


def assigned_gpus() -> dict[str, str]:
    """The environment variables saying this process was given GPUs (``SLURM_JOB_GPUS=0`` is GPU 0;
    empty, ``-1`` and ``NoDevFiles`` device lists and zero ``SLURM_GPUS*`` counts mean none)."""
    return {k: v for k, v in sorted(os.environ.items()) if _assigns_gpu(k, v)}


def check_gpu_usable(device: str) -> None:
    """Fail when a scheduler assigned GPUs but torch sees no CUDA (a CPU-only torch build, or a missing driver),
    instead of quietly running on CPU; ``compute.device: cpu`` means CPU on purpose and is never checked."""
    assigned = assigned_gpus()
    if device != "cpu" and assigned and not torch.cuda.is_available():
        given = ", ".join(f"{k}={v}" for k, v in assigned.items())
        if torch.version.cuda is None:
            fix = "install a CUDA build of PyTorch (environment.yml, workflow/envs/aelpn.yaml)"
        else:
            fix = f"it is a CUDA {torch.version.cuda} build, so check the node's driver (nvidia-smi in the job)"
        raise DeviceError(f"this job was given a GPU ({given}) but torch {torch.__version__} cannot use CUDA: "
                          f"{fix}, or set compute.device: cpu")


def resolve(device: str | torch.device = "auto") -> torch.device:
    """Map a config device string to a torch.device; ``auto`` picks cuda if available."""
    if isinstance(device, torch.device):
        return device
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    dev = torch.device(device)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise DeviceError(f"config key 'compute.device': '{device}' requested but torch cannot use CUDA; "
                          "use auto or cpu")
    return dev


def configure(compute: dict) -> torch.device:
    """Resolve ``compute.device``, apply the TF32 switch and, on CPU, flush denormal floats to zero; returns
    the device. A job given a GPU that torch cannot use is an error (:func:`check_gpu_usable`). Softplus with a
    large beta (100 at paper scale) drives activations and their derivatives into the denormal range, where x86
    arithmetic is up to ~10x slower (measured: a paper-width training step 2.8 s -> 0.4 s); flushing changes only
    values below ~1e-38."""
    check_gpu_usable(compute["device"])
    dev = resolve(compute["device"])
    if dev.type == "cpu":
        torch.set_flush_denormal(True)
    if dev.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = bool(compute["tf32"])
        torch.backends.cudnn.allow_tf32 = bool(compute["tf32"])
    return dev


def autocast(compute: dict, device: torch.device):
    """Mixed-precision context for GPU training when ``compute.amp`` is on; a no-op otherwise."""
    if compute["amp"] and device.type == "cuda":
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()


def describe(device: torch.device) -> str:
    """Human-readable device name recorded in provenance (GPU model on CUDA)."""
    if device.type == "cuda":
        return f"cuda:{torch.cuda.get_device_name(device)}"
    return "cpu"
