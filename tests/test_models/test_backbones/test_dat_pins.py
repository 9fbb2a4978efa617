"""DAT behaviours no parity test held (issue 13): where off-grid sizes are padded (stem and downsampling: zeros
at the bottom and right), and how a position-bias table of another size is resized (bicubic, per axis)."""
import torch
import torch.nn.functional as F

from mmattn.models import DAT
from tests.test_models.test_layers.test_deformable_attention import _make


def test_stem_and_downsampling_pad_off_grid_maps_with_zeros_at_the_bottom_and_right():
    torch.manual_seed(0)
    model = DAT(arch='tiny').eval()
    image = torch.randn(1, 3, 37, 42)  # 37 = 4*9 + 1, 42 = 4*10 + 2
    with torch.no_grad():
        torch.testing.assert_close(model.stem(image), model.stem(F.pad(image, (0, 2, 0, 3))))
        assert model.stem(image).shape[1:3] == (10, 11)
        maps = torch.randn(1, 5, 7, model.embed_dims[0])  # channels-last, odd both ways
        down = model.stages[1].downsample
        padded = F.pad(maps.permute(0, 3, 1, 2), (0, 1, 0, 1)).permute(0, 2, 3, 1)
        torch.testing.assert_close(down(maps), down(padded))
        assert down(maps).shape[1:3] == (3, 4)
        # padding at the top/left instead would shift every window: not the same output
        shifted = F.pad(maps.permute(0, 3, 1, 2), (1, 0, 1, 0)).permute(0, 2, 3, 1)
        assert not torch.allclose(down(maps), down(shifted))


def test_a_bias_table_of_another_size_is_resized_bicubically_along_each_axis():
    src = _make(rpe_size=(4, 5))  # table (heads, 7, 9)
    with torch.no_grad():  # a table that varies along both axes differently: a swapped axis would show
        rows, cols = torch.meshgrid(torch.linspace(0, 1, 7), torch.linspace(0, 1, 9), indexing='ij')
        src.rpe_table.copy_((rows ** 2 + 3 * cols ** 3).expand_as(src.rpe_table))
    dst = _make(rpe_size=(6, 8), seed=1)  # table (heads, 11, 15)
    dst.load_state_dict(src.state_dict())
    expected = F.interpolate(src.rpe_table.detach()[None], size=(11, 15), mode='bicubic', align_corners=False)[0]
    torch.testing.assert_close(dst.rpe_table.detach(), expected)
    bilinear = F.interpolate(src.rpe_table.detach()[None], size=(11, 15), mode='bilinear', align_corners=False)[0]
    assert not torch.allclose(dst.rpe_table.detach(), bilinear, atol=1e-4)  # the mode is told apart
