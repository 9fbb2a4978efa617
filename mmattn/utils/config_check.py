"""``--cfg-options`` keys that name nothing: mmengine merges a misspelt top-level key (``train_dataloder``)
into the config as a new entry that nothing reads, so the override is silently lost."""
import difflib
import inspect
from typing import Iterable, Optional

# top-level keys that tools and mmengine read although a config may not define them
KNOWN_OPTIONAL_KEYS = ('model_wrapper_cfg', 'find_unused_parameters', 'custom_imports', 'tta_model',
                       'tta_pipeline', 'gpu_ids', 'compile', 'strategy', 'vis_backends')


def unknown_option_keys(cfg, keys: Iterable[str]) -> Optional[str]:
    """A message for the ``--cfg-options`` keys whose first part is not a key of ``cfg`` nor an argument of
    mmengine's Runner; None when every key is known."""
    from mmengine.runner import Runner
    known = set(cfg.keys()) | set(inspect.signature(Runner.__init__).parameters) | set(KNOWN_OPTIONAL_KEYS)
    known.discard('self')
    problems = []
    for key in keys:
        top = key.split('.')[0]
        if top in known:
            continue
        close = difflib.get_close_matches(top, sorted(known), n=1)
        problems.append(f'  {key}: the config has no top-level key {top!r}' +
                        (f'; did you mean {close[0]!r}?' if close else ''))
    if not problems:
        return None
    return '--cfg-options names keys that nothing reads (a typo would be silently ignored):\n' + '\n'.join(problems)
