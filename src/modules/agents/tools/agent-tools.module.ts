import { Module } from '@nestjs/common';
import { AppConfig } from 'src/config/app-config';
import type { AgentTool } from 'src/modules/agents/tools/agent-tool';
import { AGENT_TOOLS, AgentToolRegistry } from 'src/modules/agents/tools/agent-tool.registry';
import { CalculatorTool } from 'src/modules/agents/tools/calculator.tool';
import { ChartGeneratorTool } from 'src/modules/agents/tools/chart-generator.tool';
import { DataAnalyzerTool } from 'src/modules/agents/tools/data-analyzer.tool';
import { DocumentSearchTool } from 'src/modules/agents/tools/document-search.tool';
import { TextProcessorTool } from 'src/modules/agents/tools/text-processor.tool';
import { createWebSearchProvider } from 'src/modules/agents/tools/web-search.provider';
import { WebSearchTool } from 'src/modules/agents/tools/web-search.tool';
import { ChatGatewayService } from 'src/modules/model-router/gateway/chat-gateway.service';
import { ModelRouterModule } from 'src/modules/model-router/model-router.module';
import { DocumentsRepository } from 'src/modules/rag/documents/documents.repository';
import { ObjectStore } from 'src/modules/rag/rag.contracts';
import { RagModule } from 'src/modules/rag/rag.module';
import { SearchService } from 'src/modules/rag/search/search.service';

const TOOL_CLASSES = [CalculatorTool, DocumentSearchTool, WebSearchTool, TextProcessorTool, DataAnalyzerTool, ChartGeneratorTool];

/**
 * The tools agents call, behind AgentToolRegistry. It brings the RAG module (search, documents,
 * object store) and the model router (chat gateway) that the tools run on; the calculator and
 * the chart renderer start their sandbox processes on first use.
 */
@Module({
  imports: [RagModule, ModelRouterModule],
  providers: [
    { provide: CalculatorTool, useFactory: () => new CalculatorTool() },
    { provide: DocumentSearchTool, inject: [SearchService], useFactory: (searches: SearchService) => new DocumentSearchTool(searches) },
    {
      provide: WebSearchTool,
      inject: [AppConfig],
      useFactory: (config: AppConfig) => {
        const settings = config.agentTools.webSearch;
        return new WebSearchTool(createWebSearchProvider(settings), { pageTimeoutMs: settings?.timeoutMs });
      },
    },
    {
      provide: TextProcessorTool,
      inject: [ChatGatewayService],
      useFactory: (gateway: ChatGatewayService) => new TextProcessorTool(gateway),
    },
    {
      provide: DataAnalyzerTool,
      inject: [DocumentsRepository, ObjectStore],
      useFactory: (documents: DocumentsRepository, objects: ObjectStore) => new DataAnalyzerTool(documents, objects),
    },
    { provide: ChartGeneratorTool, useFactory: () => new ChartGeneratorTool() },
    { provide: AGENT_TOOLS, inject: TOOL_CLASSES, useFactory: (...tools: AgentTool[]) => tools },
    AgentToolRegistry,
  ],
  exports: [AgentToolRegistry],
})
export class AgentToolsModule {}
