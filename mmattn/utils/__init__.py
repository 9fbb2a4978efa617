from .checkpoint import (OpaqueObject, UnsafeCheckpointError, download_checkpoint, extract_state_dict,
                         load_checkpoint_file, load_checkpoint_path_or_url, state_dict_mismatches)

__all__ = ['OpaqueObject', 'UnsafeCheckpointError', 'download_checkpoint', 'extract_state_dict',
           'load_checkpoint_file', 'load_checkpoint_path_or_url', 'state_dict_mismatches']
