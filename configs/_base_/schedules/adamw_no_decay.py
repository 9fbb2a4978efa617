# The weight-decay rules of every mmattn detection and segmentation optimiser (AdamW): no decay on norm layers
# (LayerNorm and BatchNorm), on biases, or on the attention-bias tables (DAT: relative_position_bias_table,
# rpe_table). The COCO schedules and the UPerNet / Semantic FPN bases use it as
# `paramwise_cfg=_base_.no_decay_paramwise_cfg`.
no_decay_paramwise_cfg = dict(
    norm_decay_mult=0.,
    bias_decay_mult=0.,
    custom_keys={
        'relative_position_bias_table': dict(decay_mult=0.),
        'rpe_table': dict(decay_mult=0.),
    })
