from .channel_attention import ChannelGroupAttention
from .common import ConvMlp, ConvPosEnc, Mlp
from .deformable_attention import DeformableAttention
from .dilated_attention import (MultiScaleDilatedAttention, NeighbourhoodAttention, dilated_neighbourhood_attention,
                                packed_dilated_neighbourhood_attention)
from .shifted_window_attention import ShiftedWindowAttention
from .window_attention import (WindowAttention, pad_to_multiple, window_partition,
                               window_reverse)

__all__ = [
    'DeformableAttention', 'ShiftedWindowAttention',
    'MultiScaleDilatedAttention', 'NeighbourhoodAttention', 'dilated_neighbourhood_attention',
    'packed_dilated_neighbourhood_attention',
    'ChannelGroupAttention', 'ConvMlp', 'ConvPosEnc', 'Mlp', 'WindowAttention', 'pad_to_multiple',
    'window_partition', 'window_reverse'
]
