# UPerNet + FCN auxiliary head on ADE20K (150 classes), 512x512 crops, 8 GPUs x 2 images, 160k iterations.
# mmseg's Swin-T UPerNet experiment already is the official DaViT recipe (which DAT++ also uses): UPerHead with
# 512 channels and pool scales (1, 2, 3, 6), FCN auxiliary head on the stride-16 map (in_index=2) with loss
# weight 0.4, SyncBN in the heads, AdamW lr 6e-5, betas (0.9, 0.999), weight decay 0.01, 1500 linear warm-up
# iterations from 1e-6 then poly decay (power 1.0) to 0, validation and a checkpoint every 16k iterations, the
# ADE20K pipelines and the TTA pipeline. Only the weight-decay rules change (ours instead of Swin's).
# An experiment replaces the backbone (model.backbone=dict(_delete_=True, type='mmattn.X', ...)) and sets the
# heads' in_channels.
_base_ = [
    'mmseg::swin/swin-tiny-patch4-window7-in1k-pre_upernet_8xb2-160k_ade20k-512x512.py', './runtime.py',
    '../schedules/adamw_no_decay.py'
]

optim_wrapper = dict(paramwise_cfg=dict(_delete_=True, **_base_.no_decay_paramwise_cfg))
