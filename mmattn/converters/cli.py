"""What every tools/model_converters/*2mmattn.py script does around its key mapping."""
import sys
from typing import Callable, Dict, Optional, Tuple

import torch

from mmattn.utils import UnsafeCheckpointError, extract_state_dict, load_checkpoint_file
from .utils import ConversionError, save_converted

Converter = Callable[[Dict[str, torch.Tensor]], Tuple[Dict[str, torch.Tensor], dict]]


def convert_file(tool: str, src: str, dst: str, convert: Converter,
                 select_weights: Callable[[dict], Dict[str, torch.Tensor]] = extract_state_dict,
                 extra_meta: Optional[dict] = None) -> dict:
    """Read ``src`` weights-only (non-tensor objects become inert placeholders), convert, save to ``dst``.

    Any problem with the file or its keys ends the program with ``'<tool>: <reason>'``. Returns the meta.
    """
    try:
        checkpoint = load_checkpoint_file(src, opaque_objects=True)
        state_dict, meta = convert(select_weights(checkpoint))
    except (ConversionError, UnsafeCheckpointError, FileNotFoundError, ValueError) as err:
        sys.exit(f'{tool}: {err}')
    meta = dict(meta, converted_from=src, **(extra_meta or {}))
    save_converted(state_dict, dst, meta)
    head = 'backbone only' if meta['num_classes'] is None else f'{meta["num_classes"]} classes'
    print(f'Converted a {meta["source_layout"]} {tool.split("2")[0]}-{meta["arch"]} checkpoint '
          f'({len(state_dict)} tensors, {head}) to {dst}')
    return meta
