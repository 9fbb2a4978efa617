# RetinaNet + FPN with a DaViT-T backbone (mmdet's retinanet_r50_fpn.py). As the official config, the FPN uses
# the stride-8/16/32 maps plus two extra levels computed from the last backbone map (add_extra_convs='on_input').
# The official code returns all 4 maps and sets start_level=1, leaving norm0 unused (its comment asks to delete
# it by hand); here, as in mmdet's Swin RetinaNet, the backbone only returns stages 1-3 (no norm0 at all) and
# the FPN starts at its first input. Same network, no unused parameters under DDP. The classifier comes from
#   python tools/model_converters/davit2mmattn.py OFFICIAL_CHECKPOINT checkpoints/davit-tiny_in1k.pth
_base_ = ['mmdet::_base_/models/retinanet_r50_fpn.py']

model = dict(
    backbone=dict(
        _delete_=True,
        type='mmattn.DaViT',
        arch='tiny',
        out_type='featmap',
        out_indices=(1, 2, 3),
        drop_path_rate=0.1,
        with_cp=False,
        init_cfg=dict(type='Pretrained', checkpoint='checkpoints/davit-tiny_in1k.pth', prefix='backbone.')),
    neck=dict(in_channels=[192, 384, 768], start_level=0))
