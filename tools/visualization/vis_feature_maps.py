"""Draw the output of every backbone stage on one image as a grid (a row per stage, its most active channels).

    python tools/visualization/vis_feature_maps.py IMAGE MODEL [--checkpoint CKPT] [--out-file OUT.png]

MODEL is a model name (mmattn.list_models()) or a config of any task; every stage is drawn whatever the
backbone's out_indices (its raw output, before the output norms that exist only for the out_indices).
"""
import argparse

from mmattn.apis import add_image_and_model_arguments


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Draw the stage outputs of a backbone on one image')
    add_image_and_model_arguments(parser)
    parser.add_argument('--channels', type=int, default=8, help='channels drawn per stage. Defaults to 8')
    parser.add_argument('--out-file', default='feature_maps.png', help='Defaults to feature_maps.png')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    import torch

    from mmattn.apis import image_and_model_or_exit
    from mmattn.visualization import backbone_input, draw_feature_maps
    image, model = image_and_model_or_exit(args)
    features = []

    def keep(stage, args, output):  # stages return channels-last maps (DilateFormer's: with the next input)
        features.append((output[0] if isinstance(output, tuple) else output).permute(0, 3, 1, 2))

    handles = [stage.register_forward_hook(keep) for stage in model.backbone.stages]
    inputs = backbone_input(model, image)
    with torch.no_grad():
        model.backbone(inputs)
    for handle in handles:
        handle.remove()
    print(draw_feature_maps(image, features, tuple(inputs.shape[-2:]), args.out_file, args.channels))


if __name__ == '__main__':
    main()
