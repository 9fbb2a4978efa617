# Runtime of every mmattn detection config: mmdetection's own (default_scope='mmdet', DetLocalVisualizer,
# a checkpoint every epoch, epoch-based logging), plus the import that registers our backbones, which the
# configs then name as type='mmattn.DaViT' / 'mmattn.DAT' / 'mmattn.DilateFormer'.
_base_ = ['mmdet::_base_/default_runtime.py']

custom_imports = dict(imports=['mmattn.models'], allow_failed_imports=False)
