_base_ = ['./datpp-base_in1k.py']

# DAT-B++ at 384, fine-tuned from DAT-B++ 224 as in the official configs/dat_base_384.yaml: the same network
# (its bias tables stay sized from 224 and are sampled at 384), 30 epochs, lr 2e-5 per 512 images, no warm-up,
# cosine to 2e-7 per 512, wd 1e-8, drop path 0.6, 24 images per GPU, and a test resize to 384x384 without a
# centre crop (TEST.CROP False).
model = dict(backbone=dict(arch='base-384', drop_path_rate=0.6))
load_from = None  # e.g. a converted DAT-B++ 224 checkpoint (tools/model_converters/datpp2mmattn.py)

data_preprocessor = dict(num_classes=1000, mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375],
                         to_rgb=True)
bgr_mean = data_preprocessor['mean'][::-1]
bgr_std = data_preprocessor['std'][::-1]
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='RandomResizedCrop', scale=384, backend='pillow', interpolation='bicubic'),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='RandAugment', policies='timm_increasing', num_policies=2, total_level=10, magnitude_level=9,
         magnitude_std=0.5, hparams=dict(pad_val=[round(x) for x in bgr_mean], interpolation='bicubic')),
    dict(type='RandomErasing', erase_prob=0.25, mode='rand', min_area_ratio=0.02, max_area_ratio=1 / 3,
         fill_color=bgr_mean, fill_std=bgr_std),
    dict(type='PackInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(384, 384), backend='pillow', interpolation='bicubic'),
    dict(type='PackInputs'),
]
train_dataloader = dict(batch_size=24, dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(batch_size=24, dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader

optim_wrapper = dict(optimizer=dict(lr=2e-5, weight_decay=1e-8))
param_scheduler = [dict(type='CosineAnnealingLR', eta_min_ratio=1e-2, by_epoch=True, begin=0, end=30,
                        convert_to_iter_based=True)]
train_cfg = dict(by_epoch=True, max_epochs=30, val_interval=1)
