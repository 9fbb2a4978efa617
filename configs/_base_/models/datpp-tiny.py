# DAT-T++ classifier in the official order: backbone -> LayerNorm -> average pool -> Linear. The LayerNorm
# (norm3 = official cls_norm) and the pooling live in the backbone (out_type='avg_featmap'). Initialisation is
# PyTorch's default, as in the official code (its reset_parameters never matches a module).
_base_ = ['./dat-tiny.py']

model = dict(
    backbone=dict(_delete_=True, type='mmattn.DATPlusPlus', arch='tiny', out_indices=(3, ), drop_path_rate=0.2,
                  out_type='avg_featmap'),
    head=dict(in_channels=512))
