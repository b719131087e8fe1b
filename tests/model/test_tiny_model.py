"""The tiny preset: shapes and dtypes, gradients to every parameter, checkpointing gives the same gradients."""

from __future__ import annotations

import torch

from tk.model.cameras import get_spherical_cameras


def patch_rays(size: int = 8):
    """A size x size patch of the official front camera (azimuth 0) at 64 px: rays (size, size, 3)."""
    rays_o, rays_d = get_spherical_cameras(1, 0.0, 1.9, 40.0, 64, 64)
    s = slice(28 - size // 2, 28 + size // 2)
    return rays_o[0, s, s], rays_d[0, s, s]


def loss_and_grads(model, images):
    model.zero_grad(set_to_none=True)
    codes = model.encode(images)
    rays_o, rays_d = patch_rays()
    out = [model.renderer.render_rays(model.decoder, c, rays_o, rays_d) for c in codes]
    loss = sum(((o["rgb"] - 0.3) ** 2).mean() + o["opacity"].mean() for o in out)
    loss.backward()
    return loss.detach(), {n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None}


def test_shapes_and_dtypes(tiny_model):
    cfg = tiny_model.cfg
    x = torch.rand(2, 3, cfg.cond_image_size, cfg.cond_image_size)
    codes = tiny_model.encode(x)
    assert codes.shape == (2, 3, 8, 16, 16) and codes.dtype == torch.float32
    rays_o, rays_d = patch_rays(4)
    out = tiny_model.renderer.render_rays(tiny_model.decoder, codes[0], rays_o, rays_d)
    assert out["rgb"].shape == (4, 4, 3) and out["opacity"].shape == (4, 4, 1)
    assert ((out["opacity"] >= 0) & (out["opacity"] <= 1 + 1e-6)).all()
    q = tiny_model.renderer.query_triplane(tiny_model.decoder, torch.zeros(5, 7, 3), codes[0])
    assert {k: tuple(v.shape) for k, v in q.items()} == {
        "density": (5, 7, 1), "features": (5, 7, 3), "density_act": (5, 7, 1), "color": (5, 7, 3)}
    imgs = tiny_model.render(codes[:1].detach(), 2, height=16, width=12, return_type="pil")
    assert len(imgs) == 1 and len(imgs[0]) == 2 and imgs[0][0].size == (12, 16)


def test_official_call_shape_takes_pil_and_arrays(tiny_model):
    import numpy as np
    from PIL import Image

    img = (np.random.default_rng(0).random((40, 50, 3)) * 255).astype(np.uint8)
    with torch.no_grad():
        a = tiny_model([Image.fromarray(img), img], device="cpu")
    assert a.shape == (2, 3, 8, 16, 16)
    torch.testing.assert_close(a[0], a[1])


def test_rays_missing_the_box_are_white_and_transparent(tiny_model):
    codes = tiny_model.encode(torch.rand(1, 3, 64, 64)).detach()
    rays_o = torch.tensor([[0.0, 5.0, 0.0], [2.0, 0.0, 0.0]])
    rays_d = torch.tensor([[1.0, 0.0, 0.0], [-1.0, 0.0, 0.0]])  # the first ray passes beside the box
    out = tiny_model.renderer.render_rays(tiny_model.decoder, codes[0], rays_o, rays_d)
    assert out["opacity"][0].item() == 0.0 and torch.equal(out["rgb"][0], torch.ones(3))
    assert out["opacity"][1].item() > 0


def test_gradients_reach_every_parameter_but_the_pooler(tiny_model):
    """The ViT pooler exists only for strict loading: TripoSR never uses its output, so it gets no gradient."""
    _, grads = loss_and_grads(tiny_model, torch.rand(2, 3, 64, 64))
    names = [n for n, _ in tiny_model.named_parameters()]
    pooler = [n for n in names if ".pooler." in n]
    assert pooler and not any(n in grads for n in pooler)
    for n in names:
        if n not in pooler:
            assert n in grads and grads[n].abs().sum() > 0, f"no gradient reaches {n}"


def test_checkpointing_gives_the_same_gradients(tiny_model):
    x = torch.rand(2, 3, 64, 64)
    tiny_model.renderer.chunk_size = 128 * 16  # several ray chunks per patch
    loss0, g0 = loss_and_grads(tiny_model, x)
    tiny_model.set_gradient_checkpointing(tokenizer=True, backbone=True, renderer=True)
    loss1, g1 = loss_and_grads(tiny_model, x)
    torch.testing.assert_close(loss1, loss0)
    assert g0.keys() == g1.keys()
    for n in g0:
        torch.testing.assert_close(g1[n], g0[n], atol=1e-6, rtol=1e-5, msg=n)


def test_chunk_size_does_not_change_renders(tiny_model):
    codes = tiny_model.encode(torch.rand(1, 3, 64, 64)).detach()
    rays_o, rays_d = patch_rays()
    outs = []
    for chunk in (0, 128, 1000):
        tiny_model.renderer.chunk_size = chunk
        outs.append(tiny_model.renderer.render_rays(tiny_model.decoder, codes[0], rays_o, rays_d))
    for o in outs[1:]:
        torch.testing.assert_close(o["rgb"], outs[0]["rgb"])
        torch.testing.assert_close(o["opacity"], outs[0]["opacity"])


def test_bf16_autocast_runs_and_stays_close(tiny_model):
    """The autocast switch the trainer uses on GPU, exercised on CPU: close to fp32, finite gradients."""
    x = torch.rand(1, 3, 64, 64)
    rays_o, rays_d = patch_rays()
    ref = tiny_model.renderer.render_rays(tiny_model.decoder, tiny_model.encode(x)[0], rays_o, rays_d)["rgb"].detach()
    with torch.autocast("cpu", dtype=torch.bfloat16):
        codes = tiny_model.encode(x)
        out = tiny_model.renderer.render_rays(tiny_model.decoder, codes[0], rays_o, rays_d)
    assert codes.dtype == torch.bfloat16
    (out["rgb"].float().mean()).backward()
    assert (out["rgb"].float() - ref).abs().max() < 0.02
    assert all(torch.isfinite(p.grad).all() for p in tiny_model.parameters() if p.grad is not None)
