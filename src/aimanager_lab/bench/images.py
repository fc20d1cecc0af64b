"""Images benchmark: render throughput of one worker process, storage bytes per product, vision cost.

``aimanager bench images`` (writes the ``images`` section of BENCHMARKS.md) or
``python -m aimanager_lab.bench.images [--products N]`` (prints only); ≤2 minutes at the default 60 on
2 cores:

1. per product, what ``images.prepare`` does on the CPU: decode the catalog photo, perceptual hash, the
   768-px vision copy, then a clean photo and the infographics of all four marketplaces, stored in a
   local content-addressed folder — timed end to end in one process (the images-per-second a worker
   process reaches; fetching and the vision call are I/O and overlap with it in a real run);
2. bytes the store holds per product (WB's and Ozon's 900×1200 ru infographic are one object);
3. the vision tier against the LLM sandbox through the Anthropic SDK (image blocks, tokens counted like
   the provider): measured input/output tokens per photo, priced with the pinned table per 1,000 products.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import tempfile
import time
from decimal import Decimal
from pathlib import Path

from PIL import Image, ImageDraw

from aimanager.domain.images import RULES, infographic_lines
from aimanager.llm.prices import default_prices
from aimanager.llm.types import Usage
from aimanager.media.imaging import decode, encode, for_vision, perceptual_hash
from aimanager.media.render import clean_photo, infographic
from aimanager.media.store import LocalStore, content_key

FACTS = {"Цвет": "красный", "Материал": "керамика", "Объём, мл": "350", "Страна": "Узбекистан"}


def photo(rng: random.Random) -> bytes:
    """A 1200×1500 product-like JPEG (a shape in a random colour, some texture)."""
    image = Image.new("RGB", (1200, 1500), (250, 250, 250))
    draw = ImageDraw.Draw(image)
    colour = (rng.randrange(256), rng.randrange(256), rng.randrange(256))
    draw.ellipse((200, 300, 1000, 1200), fill=colour)
    for _ in range(200):
        x, y = rng.randrange(1200), rng.randrange(1500)
        draw.point((x, y), fill=(rng.randrange(256),) * 3)
    return encode(image)


async def render_run(products: int, root: Path) -> dict[str, float]:
    rng = random.Random(7)
    store = LocalStore(root)
    sources = [photo(rng) for _ in range(products)]
    images = 0
    started = time.perf_counter()
    for data in sources:
        decoded = decode(data)
        perceptual_hash(decoded.image)
        for_vision(decoded.image)
        for rule in RULES.values():
            renders = [clean_photo(decoded.image, rule.width, rule.height)]
            renders += [
                infographic(
                    decoded.image,
                    rule.width,
                    rule.height,
                    "Кружка керамическая 350 мл",
                    infographic_lines(FACTS, lang),
                )
                for lang in rule.languages
            ]
            for r in renders:
                key = content_key(r.data, "jpg")
                if not await store.exists(key):
                    await store.put(key, r.data, "image/jpeg")
            images += len(renders)
    wall = time.perf_counter() - started
    stored = sum(p.stat().st_size for p in root.rglob("*.jpg"))
    return {
        "products": products,
        "images": images,
        "wall_s": wall,
        "images_per_s": images / wall,
        "bytes_per_product": stored / products,
    }


async def vision_run(calls: int) -> dict[str, object]:
    from aimanager.db.engine import make_engine
    from aimanager.llm import Gateway, GatewayConfig, VisionRequest
    from aimanager.llm.types import ImageInput
    from aimanager.schema.migrate import upgrade
    from aimanager_sandbox.common.serving import BackgroundServer
    from aimanager_sandbox.llm.app import create_app
    from aimanager_sandbox.llm.config import SandboxConfig

    rng = random.Random(11)
    with (
        tempfile.TemporaryDirectory() as tmp,
        BackgroundServer(create_app(SandboxConfig(time_scale=0.001))) as server,
    ):
        engine = make_engine(f"sqlite+aiosqlite:///{tmp}/bench.db")
        await upgrade(engine)
        gw = await Gateway.create(
            GatewayConfig(
                provider="anthropic",
                anthropic_api_key="sk-bench",
                anthropic_base_url=server.base_url,
                cache_store="none",
            ),
            engine,
        )
        for n in range(calls):
            data, w, h = for_vision(decode(photo(rng)).image)
            facts = {"name": f"Кружка {n}", "brand": "Qulay", "attributes": FACTS}
            await gw.extract_attributes(
                VisionRequest(1, f"SKU-{n}", ImageInput(data, "image/jpeg", w, h), facts)
            )
        stats = gw.stats()
        await gw.close()
        await engine.dispose()
    per = Usage(stats.usage.input_tokens // calls, stats.usage.output_tokens // calls)
    price = default_prices().price("claude-haiku-5-5")
    realtime = price.cost(per) * 1000
    batch = price.cost(per, batch=True) * 1000
    return {
        "calls": calls,
        "input_tokens_per_photo": per.input_tokens,
        "output_tokens_per_photo": per.output_tokens,
        "usd_per_1000_realtime": realtime.quantize(Decimal("0.0001")),
        "usd_per_1000_batch": batch.quantize(Decimal("0.0001")),
    }


def render(
    figs: dict[str, float], vision: dict[str, object], *, command: str, machine: str, load: str = ""
) -> str:
    """The BENCHMARKS.md section (``bench:images``) from one run's figures."""
    renders = sum(1 + len(r.languages) for r in RULES.values())
    return f"""## Product images (issue 16)

`{command}` ({figs["products"]:.0f} products, {vision["calls"]} vision calls). {machine}{load}.
Single-process figures on a shared machine: expect more on an idle core.

| what | measured |
| --- | --- |
| images per second per worker process (decode + hash + vision copy + clean photo and infographics for all four marketplaces + content-addressed store) | **{figs["images_per_s"]:.1f}** ({figs["images"]:.0f} images, {figs["wall_s"]:.1f} s) |
| storage per product ({renders} renders; WB's and Ozon's 900×1200 clean photo and ru infographic are the same bytes, stored once) | **{figs["bytes_per_product"] / 1024:.0f} KiB** |
| vision tokens per photo (768 px JPEG, Claude Haiku 5.5 via the LLM sandbox, billed w×h/750 + prompt) | {vision["input_tokens_per_photo"]} in / {vision["output_tokens_per_photo"]} out |
| vision cost per 1,000 products (pinned prices) | **${vision["usd_per_1000_realtime"]}** real time, ${vision["usd_per_1000_batch"]} through the Batch API |

Fetching photos and the vision call are I/O and overlap with rendering in a real worker; a second run over
an unchanged catalog renders, asks and uploads nothing (tests/images/test_images_end_to_end.py).
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--products", type=int, default=60)
    parser.add_argument("--vision-calls", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        render = asyncio.run(render_run(args.products, Path(tmp)))
    print(
        f"render: {render['products']:.0f} products, {render['images']:.0f} images in {render['wall_s']:.1f} s = "
        f"{render['images_per_s']:.1f} images/s per process; {render['bytes_per_product'] / 1024:.0f} KiB stored per product"
    )
    vision = asyncio.run(vision_run(args.vision_calls))
    print(f"vision: {vision}")


if __name__ == "__main__":
    main()
