"""The telephony service runs the FastAGI IVR next to its AMI listener, on AGI_HOST:AGI_PORT."""
from __future__ import annotations

from telephony.service import create_service
from tests.ivr.conftest import preinstallation
from tests.ivr.peer import AsteriskSide


async def test_the_service_answers_lookups_and_counts_them_in_metrics(redis, config, index):
    import aiohttp

    await index.replace_all([preinstallation("1001", "Juan Pérez")], "test")
    # AMI points at a closed port: the listener retries in the background, the IVR still answers
    service = create_service(config, redis=redis, retry_base=0.05, retry_cap=0.2)
    await service.start()
    try:
        transcript = await AsteriskSide(service.ivr.port).run()
        assert transcript.variables["SP_PREINST_ID"] == "1001"
        async with aiohttp.ClientSession() as http:
            url = f"http://127.0.0.1:{service.status_port}/metrics"
            async with http.get(url) as response:
                metrics = await response.text()
        assert 'telephony_agi_lookups_total{match="one"} 1.0' in metrics
        assert 'telephony_agi_connections_total{outcome="ok"} 1.0' in metrics
    finally:
        await service.stop()
