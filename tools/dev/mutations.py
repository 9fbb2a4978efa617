"""Deliberate bugs that the test suite must catch, one at a time (``tools/dev/mutate.py`` plants them).

Each entry: a name, the file, a snippet that occurs exactly once in it, what replaces it, and the nearest tests
that must fail. New code comes with its mutations (issue 13).
"""
T_OPTIONS = 'tests/test_models/test_backbones/test_options_pinned.py'
T_DAT_PINS = 'tests/test_models/test_backbones/test_dat_pins.py'
T_DEFORMABLE = 'tests/test_models/test_layers/test_deformable_attention.py'
T_DAVIT_ATTN = 'tests/test_models/test_layers/test_davit_attention.py'
T_DILATED = 'tests/test_models/test_layers/test_dilated_attention.py'
T_SHIFTED = 'tests/test_models/test_layers/test_shifted_window_attention.py'
T_LOOPS = 'tests/test_engine/test_loops.py'
T_SAFETY = 'tests/test_engine/test_run_safety.py'
T_FLAGS = 'tests/test_engine/test_train_flags.py'
T_CHECKPOINT = 'tests/test_utils_checkpoint.py'
T_CONVERTERS = 'tests/test_converters/test_utils.py'
T_PRETRAINED = 'tests/test_models/test_backbones/test_pretrained.py'
T_TOOLS_SAFETY = 'tests/test_tools/test_run_safety_tools.py'

MUTATIONS = [
    # stochastic depth, on each model's residual branches
    dict(name='davit: no drop path on the attention branch', file='mmattn/models/backbones/davit.py',
         find='x = x + self.drop_path(self.attn(self.norm1(x)))', replace='x = x + self.attn(self.norm1(x))',
         tests=[T_OPTIONS]),
    dict(name='dat: no drop path on the MLP branch', file='mmattn/models/backbones/dat.py',
         find='x = x + self.drop_path(self.mlp(self.norm2(x)))', replace='x = x + self.mlp(self.norm2(x))',
         tests=[T_OPTIONS]),
    dict(name='dilateformer: no drop path on the MLP branch', file='mmattn/models/backbones/dilateformer.py',
         find='return x + self.drop_path(self.mlp(self.norm2(x)))', replace='return x + self.mlp(self.norm2(x))',
         tests=[T_OPTIONS]),
    # constructor options silently ignored
    dict(name='davit: qkv_bias ignored by the channel attention', file='mmattn/models/backbones/davit.py',
         find='ChannelGroupAttention(dim, num_heads, qkv_bias)', replace='ChannelGroupAttention(dim, num_heads)',
         tests=[T_OPTIONS]),
    dict(name='dilateformer: kernel_size ignored', file='mmattn/models/backbones/dilateformer.py',
         find='MultiScaleDilatedAttention(dim, num_heads, kernel_size, dilations, qkv_bias)',
         replace='MultiScaleDilatedAttention(dim, num_heads, 3, dilations, qkv_bias)', tests=[T_OPTIONS]),
    dict(name='compat: SyncBN kept on CPU', file='mmattn/compat.py',
         find="node['type'] = 'BN'", replace='pass', tests=[T_OPTIONS]),
    # attention scales, paddings, shifts, offsets
    dict(name='davit: channel attention scaled by the full width', file='mmattn/models/layers/channel_attention.py',
         find='self.scale = (dim // num_heads)**-0.5', replace='self.scale = dim**-0.5', tests=[T_DAVIT_ATTN]),
    dict(name='window attention: padding at the top/left', file='mmattn/models/layers/window_attention.py',
         find='x = F.pad(x, (0, 0, 0, pad_w, 0, pad_h))', replace='x = F.pad(x, (0, 0, pad_w, 0, pad_h, 0))',
         tests=[T_DAVIT_ATTN]),
    dict(name='dilated attention: logits scaled by head_dim**-0.25', file='mmattn/models/layers/dilated_attention.py',
         find='self.scale = qk_scale or self.head_dim**-0.5', replace='self.scale = qk_scale or self.head_dim**-0.25',
         tests=[T_DILATED]),
    dict(name='shifted windows: shift in the wrong direction', file='mmattn/models/layers/shifted_window_attention.py',
         find='x = torch.roll(x, shifts=(-shift, -shift), dims=(1, 2))',
         replace='x = torch.roll(x, shifts=(shift, shift), dims=(1, 2))', tests=[T_SHIFTED]),
    dict(name='dat: offset range with the axes swapped', file='mmattn/models/layers/deformable_attention.py',
         find='[self.offset_range_factor / Hk, self.offset_range_factor / Wk]',
         replace='[self.offset_range_factor / Wk, self.offset_range_factor / Hk]', tests=[T_DEFORMABLE]),
    dict(name='dat: sampling positions follow bf16 under autocast', file='mmattn/models/layers/deformable_attention.py',
         find='offset = offset.to(torch.promote_types(offset.dtype, torch.float32))', replace='offset = offset',
         tests=[T_DEFORMABLE]),
    dict(name='dat: bias table resized bilinearly', file='mmattn/models/layers/deformable_attention.py',
         find="size=size, mode='bicubic'", replace="size=size, mode='bilinear'", tests=[T_DAT_PINS]),
    dict(name='all: off-grid maps padded at the top/left', file='mmattn/models/layers/common.py',
         find='x = F.pad(x, (0, pad_w, 0, pad_h))', replace='x = F.pad(x, (pad_w, 0, pad_h, 0))',
         tests=[T_DAT_PINS]),
    # converters and safe loading
    dict(name='converters: module. stripped when any key has it', file='mmattn/converters/utils.py',
         find='if state_dict and all(k.startswith(prefix) for k in state_dict):',
         replace='if state_dict and any(k.startswith(prefix) for k in state_dict):', tests=[T_CONVERTERS]),
    dict(name='checkpoints: shape mismatches not reported', file='mmattn/utils/checkpoint.py',
         find='if weights[k].shape != own[k].shape and not may_differ_in_shape(k)]', replace='if False]',
         tests=[T_CONVERTERS]),
    dict(name='davit converter: spatial and channel blocks swapped', file='mmattn/converters/davit.py',
         find="(r'\\.spatial_block\\.', '.0.'),\n    (r'\\.channel_block\\.', '.1.'),",
         replace="(r'\\.spatial_block\\.', '.1.'),\n    (r'\\.channel_block\\.', '.0.'),",
         tests=['tests/test_converters/test_davit.py']),
    dict(name='checkpoints: legacy files unpickled in full', file='mmattn/utils/checkpoint.py',
         find='return torch.load(path, map_location=map_location, weights_only=True)',
         replace='return torch.load(path, map_location=map_location, weights_only=False)', tests=[T_CHECKPOINT]),
    dict(name='checkpoints: getattr allowed on anything', file='mmattn/utils/checkpoint.py',
         find="if obj is HistoryBuffer and not name.startswith('_') and callable(getattr(HistoryBuffer, name, None)):",
         replace='if True:\n        return getattr(obj, name)\n    if False:', tests=[T_CHECKPOINT]),
    # tools and runs
    dict(name='--amp on CPU without autocast', file='mmattn/engine/optim_wrapper.py',
         find="torch.autocast('cpu', dtype=torch.bfloat16)", replace="torch.autocast('cpu', enabled=False)",
         tests=[T_FLAGS]),
    dict(name='--auto-scale-lr ignored', file='tools/train.py',
         find="cfg.setdefault('auto_scale_lr', {})['enable'] = True",
         replace="cfg.setdefault('auto_scale_lr', {})['enable'] = False", tests=[T_FLAGS]),
    dict(name='guard: non-finite gradient norm let through', file='mmattn/engine/hooks.py',
         find='if grad_norm is not None and not math.isfinite(grad_norm):', replace='if False:',
         tests=[T_SAFETY]),
    dict(name='exact resume: training steps not seeded', file='mmattn/engine/loops.py',
         find='seed_global_rngs(derived_seed(self.runner.seed, get_rank(), self._iter))', replace='pass',
         tests=[T_LOOPS]),
    dict(name='exact resume: samples not seeded', file='mmattn/engine/loops.py',
         find='        with global_rngs_seeded(seed):\n            return self.dataset[index]',
         replace='        return self.dataset[index]', tests=[T_LOOPS]),
    dict(name='exact resume: ranks share their samples\' streams', file='mmattn/engine/loops.py',
         find='derived_seed(self.seed, rank, self.epoch, number, slot)',
         replace='derived_seed(self.seed, self.epoch, number, slot)', tests=[T_LOOPS]),
    dict(name='exact resume: trained batches not skipped', file='mmattn/engine/loops.py',
         find='        self._start = batch\n', replace='        pass\n', tests=[T_LOOPS]),
    dict(name='exact resume: sampler seed not put back', file='mmattn/engine/loops.py',
         find='            sampler.seed = hub.get_info(SAMPLER_SEED_KEY, sampler.seed)\n', replace='',
         tests=[T_LOOPS]),
    dict(name='exact resume: batch sampler not held while mmengine builds its iterator',
         file='mmattn/engine/loops.py',
         find='        with dataloader.batch_sampler.held():\n            super().__init__(runner, dataloader, *args, '
              '**kwargs)',
         replace='        super().__init__(runner, dataloader, *args, **kwargs)', tests=[T_LOOPS]),
    # dense prediction (issues 7 and 8): ImageNet weights into the backbones, configs, output layout
    dict(name='pretrained: the output norms a classifier lacks not excused', file='mmattn/models/backbones/pretrained.py',
         find='may_miss=EXPECTED_MISSING.match', replace='may_miss=lambda key: False', tests=[T_PRETRAINED]),
    dict(name='pretrained: bias tables of another window not excused', file='mmattn/models/backbones/pretrained.py',
         find='may_differ_in_shape=lambda key: key.endswith(RESIZABLE_TABLES)',
         replace='may_differ_in_shape=lambda key: False', tests=[T_PRETRAINED]),
    dict(name='configs: weight decay on norms', file='configs/_base_/schedules/adamw_no_decay.py',
         find='norm_decay_mult=0.,', replace='norm_decay_mult=1.,',
         tests=['tests/test_configs/test_det_configs.py', 'tests/test_configs/test_seg_configs.py']),
    dict(name='davit: feature maps with H and W swapped', file='mmattn/models/backbones/davit.py',
         find='outs.append(norm(x).permute(0, 3, 1, 2).contiguous())',
         replace='outs.append(norm(x).permute(0, 3, 2, 1).contiguous())', tests=['tests/test_models/test_backbones']),
    # run safety (issue 10)
    # (-1 next to a zero batch cannot be inferred; in window_partition it can, the other sizes being known)
    dict(name='davit: channel attention infers the token count (-1)', file='mmattn/models/layers/channel_attention.py',
         find='x = x.reshape(shape[0], shape[1:-1].numel(), shape[-1])',
         replace='x = x.reshape(shape[0], -1, shape[-1])', tests=['tests/test_models/test_backbones/test_davit.py']),
    dict(name='checkpoints: written in place, not through a renamed .part', file='mmattn/compat.py',
         find="            with open(partial, 'wb') as file:\n                torch.save(checkpoint, file)\n"
              "                file.flush()\n                os.fsync(file.fileno())\n            os.replace(partial, filename)",
         replace="            with open(filename, 'wb') as file:\n                torch.save(checkpoint, file)",
         tests=[T_SAFETY]),
    dict(name='checkpoints: old best removed before the new one is written', file='mmattn/compat.py',
         find='CheckpointHook._save_best_checkpoint = _best_removed_after_saving(CheckpointHook._save_best_checkpoint)',
         replace='pass', tests=[T_SAFETY]),
    dict(name='test/resume: a checkpoint that does not fit is accepted', file='mmattn/engine/loading.py',
         find='    if problems:\n        raise CheckpointMismatchError(', replace='    if False:\n        raise '
         'CheckpointMismatchError(', tests=['tests/test_apis.py::test_a_checkpoint_of_another_task_is_a_clear_error']),
    dict(name='data: an unreadable image not named', file='mmattn/compat.py',
         find='        except DataFileError:\n            raise\n        except Exception as err:',
         replace='        except ZeroDivisionError as err:',
         tests=[f'{T_TOOLS_SAFETY}::test_unreadable_image_is_named_in_training_and_found_by_verify_dataset']),
    dict(name='verify_dataset: image size against the COCO record unchecked', file='tools/misc/verify_dataset.py',
         find='if None not in expected and tuple(image.shape[:2]) != expected:', replace='if False:',
         tests=[f'{T_TOOLS_SAFETY}::test_verify_dataset_checks_detection_and_segmentation_records']),
    dict(name='--cfg-options: misspelt keys let through', file='mmattn/utils/config_check.py',
         find='    if not problems:\n        return None', replace='    if True:\n        return None',
         tests=[f'{T_TOOLS_SAFETY}::test_misspelt_cfg_option_is_an_error_with_a_suggestion']),
    dict(name='checkpoints: http(s) read by mmengine (unpickling everything)', file='mmattn/compat.py',
         find="CheckpointLoader.register_scheme(prefixes=('', 'http://', 'https://'), loader=_safe_loader, force=True)",
         replace="CheckpointLoader.register_scheme(prefixes='', loader=_safe_loader, force=True)",
         tests=[f'{T_SAFETY}::test_every_checkpoint_scheme_is_read_weights_only']),
    dict(name='--dist-timeout ignored', file='tools/train.py',
         find="cfg.setdefault('env_cfg', {}).setdefault('dist_cfg', {})['timeout'] = args.dist_timeout", replace='pass',
         tests=[T_FLAGS]),
    dict(name='get_flops: mask heads counted at every RoI they were given', file='mmattn/utils/flops.py',
         find='keep = MASK_HEAD_ROIS / rois', replace='keep = 1.0',
         tests=['tests/test_tools/test_get_flops.py::test_mask_heads_given_more_than_100_rois_are_counted_at_100']),
    # inference and pictures
    dict(name='get_model: top-level data_preprocessor not merged', file='mmattn/apis/inference.py',
         find="cfg.model.setdefault('data_preprocessor', cfg.data_preprocessor)", replace='pass',
         tests=['tests/test_apis.py']),
    dict(name='visualisation: DAT points mapped with the wrong extent', file='mmattn/visualization.py',
         find='positions.new_tensor([Hk - 1, Wk - 1])', replace='positions.new_tensor([Hk, Wk])',
         tests=['tests/test_visualization.py']),
]
