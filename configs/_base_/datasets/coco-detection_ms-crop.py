# COCO 2017 detection (mmdet's coco_detection.py: boxes only, box metric) with the same multi-scale + crop
# training augmentation (ms-crop_augmentation.py), for RetinaNet.
_base_ = ['mmdet::_base_/datasets/coco_detection.py', './ms-crop_augmentation.py']

train_pipeline = [
    dict(type='LoadImageFromFile', backend_args={{_base_.backend_args}}),
    dict(type='LoadAnnotations', with_bbox=True),
    *_base_.ms_crop_augmentation,
    dict(type='PackDetInputs'),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
