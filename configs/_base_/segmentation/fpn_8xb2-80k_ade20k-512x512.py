# Semantic FPN on ADE20K (150 classes), 512x512 crops, 8 GPUs x 2 images, 80k iterations.
# mmseg's Semantic FPN experiment (FPN with 256 channels and 4 outputs, FPNHead with 128 channels, SyncBN, the
# ADE20K pipelines and the TTA pipeline) with the PVT protocol that DAT++'s Semantic FPN configs follow: AdamW
# lr 1e-4 at a total batch of 16, weight decay 1e-4, poly decay (power 0.9) to 0 from the first iteration, no
# warm-up (DAT++ runs the equivalent 40k iterations at batch 32 with lr 2e-4).
# An experiment replaces the backbone (model.backbone=dict(_delete_=True, type='mmattn.X', ...)) and sets the
# neck's in_channels.
_base_ = [
    'mmseg::sem_fpn/fpn_r50_4xb4-160k_ade20k-512x512.py', './runtime.py', '../schedules/adamw_no_decay.py'
]

max_iters = 80000
model = dict(pretrained=None)  # the base's ResNet checkpoint; the backbone's init_cfg loads ours
optim_wrapper = dict(
    _delete_=True,
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=1e-4, betas=(0.9, 0.999), weight_decay=1e-4),
    paramwise_cfg=_base_.no_decay_paramwise_cfg)
param_scheduler = [dict(type='PolyLR', eta_min=0.0, power=0.9, by_epoch=False, begin=0, end=max_iters)]
train_cfg = dict(max_iters=max_iters, val_interval=8000)
default_hooks = dict(checkpoint=dict(interval=8000))
train_dataloader = dict(batch_size=2)
val_dataloader = dict(batch_size=1)
test_dataloader = val_dataloader
