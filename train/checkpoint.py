"""Training checkpoints in safetensors + JSON: weights, optimizer state, step, RNG state.

A checkpoint is a directory (``OUT/checkpoint/``)::

    model.safetensors      the weights: the bare model's state_dict
    optimizer.safetensors  the optimizer's per-parameter tensors, named "<parameter>.<key>"
                           (Adam: "<parameter>.step", "<parameter>.exp_avg", "<parameter>.exp_avg_sq")
    rng.safetensors        torch's RNG states as uint8 tensors: "cpu", and "cuda.<i>" per GPU
    best.safetensors       when the run selects by validation: the weights of its best step so far
    state.json             format, step and the rest of the training state the caller passes
                           (epoch, position, model config, arguments, time), the optimizer's
                           hyper-parameters and Python's and NumPy's RNG states

It is written atomically: everything goes into ``checkpoint.tmp/``, the old checkpoint is
renamed to ``checkpoint.old/``, ``checkpoint.tmp/`` to ``checkpoint/``, and ``checkpoint.old/``
is removed. A process killed between the two renames leaves a complete ``checkpoint.old/``,
which :func:`find` returns. Nothing is unpickled on loading.
"""

from __future__ import annotations

import json
import os
import random
import shutil
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import load_file, save_file

import pixelrnn

FORMAT = "pixelrnn-training-checkpoint"
VERSION = 1
BEST_WEIGHTS = "best.safetensors"


def save(
    directory: Path,
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    state: dict,
    best_weights: dict[str, torch.Tensor] | None = None,
) -> None:
    """Write a checkpoint to ``directory`` atomically; ``state`` must be JSON-serializable."""
    directory = Path(directory)
    temporary, old = directory.with_name(directory.name + ".tmp"), directory.with_name(directory.name + ".old")
    shutil.rmtree(temporary, ignore_errors=True)
    temporary.mkdir(parents=True)
    optimizer_tensors, optimizer_json = _flatten_optimizer(model, optimizer)
    save_file(_contiguous(model.state_dict()), temporary / "model.safetensors")
    save_file(optimizer_tensors, temporary / "optimizer.safetensors")
    save_file(_torch_rng_state(), temporary / "rng.safetensors")
    if best_weights is not None:
        save_file(_contiguous(best_weights), temporary / BEST_WEIGHTS)
    full_state = {"format": FORMAT, "version": VERSION, **state, "optimizer": optimizer_json, "rng": _host_rng_state()}
    (temporary / "state.json").write_text(json.dumps(full_state, indent=1))
    _fsync_tree(temporary)
    if directory.exists():
        shutil.rmtree(old, ignore_errors=True)
        os.replace(directory, old)
    os.replace(temporary, directory)
    shutil.rmtree(old, ignore_errors=True)


def find(directory: Path) -> Path | None:
    """The complete checkpoint at ``directory``, or the one a killed swap left beside it, or None."""
    directory = Path(directory)
    for candidate in (directory, directory.with_name(directory.name + ".old")):
        if (candidate / "state.json").is_file():
            return candidate
    return None


def read_state(directory: Path) -> dict:
    """``state.json`` of a checkpoint, checking that it is one."""
    path = Path(directory) / "state.json"
    state = json.loads(path.read_text())
    if state.get("format") != FORMAT:
        raise ValueError(f"{path} is not a pixelrnn training checkpoint (format {state.get('format')!r})")
    if state.get("version") != VERSION:
        raise ValueError(f"{path} has checkpoint version {state.get('version')}; this code reads version {VERSION}")
    return state


def load(directory: Path, model: torch.nn.Module, optimizer: torch.optim.Optimizer) -> dict:
    """Restore weights, optimizer and RNG states from a checkpoint; returns its state.json."""
    directory = Path(directory)
    state = read_state(directory)
    model.load_state_dict(load_file(directory / "model.safetensors"))
    optimizer_tensors = load_file(directory / "optimizer.safetensors")
    optimizer.load_state_dict(_unflatten_optimizer(model, optimizer, optimizer_tensors, state["optimizer"]))
    _set_torch_rng_state(load_file(directory / "rng.safetensors"))
    _set_host_rng_state(state["rng"])
    return state


def load_best_weights(directory: Path, device: torch.device | str = "cpu") -> dict[str, torch.Tensor] | None:
    """The best weights a checkpoint keeps (see :func:`save`), or None when it keeps none."""
    path = Path(directory) / BEST_WEIGHTS
    return load_file(path, device=str(device)) if path.is_file() else None


def load_model(directory: Path, device: torch.device | str | None = None) -> pixelrnn.PixelModel:
    """The model saved in a training checkpoint (built from its config, weights loaded)."""
    directory = Path(directory)
    config = dict(read_state(directory)["model_config"])
    model = pixelrnn.build_model(config.pop("model"), **config)
    model.load_state_dict(load_file(directory / "model.safetensors"))
    return model.to(device) if device is not None else model


def _contiguous(tensors: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    return {name: tensor.detach().contiguous() for name, tensor in tensors.items()}


def _parameter_names(model: torch.nn.Module) -> dict[torch.nn.Parameter, str]:
    return {parameter: name for name, parameter in model.named_parameters()}


def _flatten_optimizer(model, optimizer) -> tuple[dict[str, torch.Tensor], dict]:
    """Optimizer state -> tensors named "<parameter>.<key>" and JSON (hyper-parameters, non-tensor state)."""
    names = _parameter_names(model)
    saved = optimizer.state_dict()
    index_to_name = {}
    groups = []
    for group, saved_group in zip(optimizer.param_groups, saved["param_groups"]):
        index_to_name.update({index: names[p] for p, index in zip(group["params"], saved_group["params"])})
        groups.append({**saved_group, "params": [names[p] for p in group["params"]]})
    tensors, scalars = {}, {}
    for index, per_parameter in saved["state"].items():
        for key, value in per_parameter.items():
            target = tensors if isinstance(value, torch.Tensor) else scalars
            target[f"{index_to_name[index]}.{key}"] = value.detach().contiguous() if isinstance(value, torch.Tensor) else value
    return tensors, {"param_groups": groups, "scalar_state": scalars}


def _unflatten_optimizer(model, optimizer, tensors: dict[str, torch.Tensor], saved: dict) -> dict:
    """Inverse of :func:`_flatten_optimizer` for ``optimizer`` over the same named parameters."""
    names = _parameter_names(model)
    current = optimizer.state_dict()
    name_to_index = {}
    for group, current_group in zip(optimizer.param_groups, current["param_groups"]):
        name_to_index.update({names[p]: index for p, index in zip(group["params"], current_group["params"])})
    if [len(g["params"]) for g in saved["param_groups"]] != [len(g["params"]) for g in current["param_groups"]]:
        raise ValueError("the checkpoint's optimizer has different parameter groups from this model's optimizer")
    state: dict[int, dict] = {}
    for flat_name, value in [*tensors.items(), *saved["scalar_state"].items()]:
        name, key = flat_name.rsplit(".", 1)
        if name not in name_to_index:
            raise ValueError(f"the checkpoint's optimizer state names parameter {name!r}, which this model lacks")
        state.setdefault(name_to_index[name], {})[key] = value
    groups = []
    for saved_group in saved["param_groups"]:
        group = {key: tuple(value) if isinstance(value, list) else value for key, value in saved_group.items()}
        group["params"] = [name_to_index[name] for name in saved_group["params"]]
        groups.append(group)
    return {"state": state, "param_groups": groups}


def _torch_rng_state() -> dict[str, torch.Tensor]:
    states = {"cpu": torch.get_rng_state()}
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        states.update({f"cuda.{i}": state for i, state in enumerate(torch.cuda.get_rng_state_all())})
    return states


def _set_torch_rng_state(states: dict[str, torch.Tensor]) -> None:
    torch.set_rng_state(states["cpu"])
    cuda = [states[f"cuda.{i}"] for i in range(len(states) - 1)]
    if cuda and torch.cuda.is_available() and len(cuda) == torch.cuda.device_count():
        torch.cuda.set_rng_state_all(cuda)


def _host_rng_state() -> dict:
    version, internal, gauss = random.getstate()
    name, keys, position, has_gauss, cached = np.random.get_state(legacy=True)
    return {
        "python": [version, list(internal), gauss],
        "numpy": [name, keys.tolist(), int(position), int(has_gauss), float(cached)],
    }


def _set_host_rng_state(state: dict) -> None:
    version, internal, gauss = state["python"]
    random.setstate((version, tuple(internal), gauss))
    name, keys, position, has_gauss, cached = state["numpy"]
    np.random.set_state((name, np.array(keys, dtype=np.uint32), position, has_gauss, cached))


def _fsync_tree(directory: Path) -> None:
    """Flush the files and the directory entry, so the renames never expose unwritten data."""
    for path in [*directory.iterdir(), directory]:
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
