# 12 epochs of AdamW for COCO detection, the optimiser of the official DaViT detection configs (also Swin's and
# DAT++'s): AdamW lr 1e-4 at a total batch of 16 (8 GPUs x 2 images), betas (0.9, 0.999), weight decay 0.05,
# no gradient clipping; 500 linear warm-up iterations from lr x 0.001 (official DaViT / DAT++; mmdet's Swin port
# uses 1000), then x0.1 after epochs 8 and 11. Unlike the official DaViT configs (decay on every parameter),
# norms, biases and the attention-bias tables (DAT: relative_position_bias_table, rpe_table) get no weight
# decay, as in Swin and DAT++. `tools/train.py --auto-scale-lr` rescales the lr linearly from batch 16.
_base_ = ['mmdet::_base_/schedules/schedule_1x.py', './adamw_no_decay.py']

max_epochs = 12
train_cfg = dict(max_epochs=max_epochs)

optim_wrapper = dict(
    _delete_=True,
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=1e-4, betas=(0.9, 0.999), weight_decay=0.05),
    paramwise_cfg=_base_.no_decay_paramwise_cfg)

param_scheduler = [
    dict(type='LinearLR', start_factor=0.001, by_epoch=False, begin=0, end=500),
    dict(type='MultiStepLR', begin=0, end=max_epochs, by_epoch=True, milestones=[8, 11], gamma=0.1),
]

auto_scale_lr = dict(enable=False, base_batch_size=16)
