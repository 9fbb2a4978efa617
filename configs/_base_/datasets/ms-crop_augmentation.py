# The multi-scale + crop training augmentation of DETR / Sparse R-CNN that the official DaViT, Swin and DAT++
# detection configs use for 1x and 3x alike (mmdet 2.x AutoAugment, here its mmdet 3.x translation, as in
# mmdet::swin/mask-rcnn_swin-t-p4-w7_fpn_ms-crop-3x_coco.py), after a horizontal flip:
#   - either resize the shorter side to one of 480, 512, ..., 800 (longer side <= 1333),
#   - or resize it to 400 / 500 / 600, crop a random 384-600 x 384-600 window, then resize as above.
# The COCO dataset bases put it between their loading and packing steps as `*_base_.ms_crop_augmentation`.
ms_scales = [(short, 1333) for short in range(480, 801, 32)]  # 11 scales
ms_crop_augmentation = [
    dict(type='RandomFlip', prob=0.5),
    dict(
        type='RandomChoice',
        transforms=[
            [dict(type='RandomChoiceResize', scales=ms_scales, keep_ratio=True)],
            [
                dict(type='RandomChoiceResize', scales=[(400, 1333), (500, 1333), (600, 1333)], keep_ratio=True),
                dict(type='RandomCrop', crop_type='absolute_range', crop_size=(384, 600), allow_negative_crop=True),
                dict(type='RandomChoiceResize', scales=ms_scales, keep_ratio=True),
            ],
        ]),
]
