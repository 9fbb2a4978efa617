# `make demo`: the DaViT-T ImageNet config, scaled down to the generated 4-class shapes set (tools/demo.py
# writes it to work_dirs/demo/data/shapes, 32x32 images) so that it trains in a few minutes on 2 CPU cores. Everything below is
# what differs from configs/davit/davit-tiny_in1k.py.
_base_ = ['../davit/davit-tiny_in1k.py']

data_root = 'work_dirs/demo/data/shapes'
classes = ('circle', 'square', 'triangle', 'bar')
model = dict(
    backbone=dict(drop_path_rate=0.0),
    head=dict(num_classes=len(classes)),
    train_cfg=dict(_delete_=True),  # no Mixup/CutMix for a few hundred steps on a small set
)
data_preprocessor = dict(num_classes=len(classes))

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='PackInputs'),
]
dataset = dict(type='CustomDataset', data_root=data_root, classes=classes, with_label=True)
train_dataloader = dict(
    batch_size=32, num_workers=2, persistent_workers=True, pin_memory=False,
    dataset=dict(dataset, _delete_=True, data_prefix='train', ann_file='meta/train.txt', pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=64, num_workers=2, persistent_workers=True, pin_memory=False,
    dataset=dict(dataset, _delete_=True, data_prefix='val', ann_file='meta/val.txt', pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(type='Accuracy', topk=(1, ))
test_evaluator = val_evaluator

max_epochs = 4
# the official lr (1e-3) is for a total batch of 1024; a batch of 32 needs a smaller one
optim_wrapper = dict(optimizer=dict(lr=5e-4))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=True, begin=0, end=1, convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', eta_min=1e-5, by_epoch=True, begin=1, end=max_epochs,
         convert_to_iter_based=True),
]
train_cfg = dict(max_epochs=max_epochs, val_interval=2)
default_hooks = dict(logger=dict(interval=5), checkpoint=dict(interval=max_epochs, max_keep_ckpts=1))
randomness = dict(seed=0)
