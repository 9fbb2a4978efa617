# RetinaNet + FPN with a DAT-T (v1) backbone (mmdet's retinanet_r50_fpn.py): the backbone returns stages 1-3
# (strides 8/16/32, no unused stage-0 norm) and the FPN starts at its first input, with two extra levels
# computed from the last backbone map (add_extra_convs='on_input'); the same network as DAT++'s RetinaNet
# (4 maps, start_level=1). The ImageNet classifier comes from
#   python tools/model_converters/dat2mmattn.py OFFICIAL_CHECKPOINT checkpoints/dat-tiny_in1k.pth
_base_ = ['mmdet::_base_/models/retinanet_r50_fpn.py']

model = dict(
    backbone=dict(
        _delete_=True,
        type='mmattn.DAT',
        arch='tiny',
        out_type='featmap',
        out_indices=(1, 2, 3),
        drop_path_rate=0.0,
        with_cp=False,
        init_cfg=dict(type='Pretrained', checkpoint='checkpoints/dat-tiny_in1k.pth', prefix='backbone.')),
    neck=dict(in_channels=[192, 384, 768], start_level=0))
