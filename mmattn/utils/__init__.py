from .checkpoint import (OpaqueObject, UnsafeCheckpointError, extract_state_dict,
                         load_checkpoint_file)

__all__ = ['OpaqueObject', 'UnsafeCheckpointError', 'extract_state_dict', 'load_checkpoint_file']
