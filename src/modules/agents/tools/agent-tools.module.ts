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
import { KnowledgeRetriever, RagGroundingModule } from 'src/modules/rag/grounding';

const TOOL_CLASSES = [CalculatorTool, DocumentSearchTool, WebSearchTool, TextProcessorTool, DataAnalyzerTool, ChartGeneratorTool];

/**
 * The tools agents call, behind AgentToolRegistry. Knowledge bases are reached through the RAG
 * role's seam (KnowledgeRetriever: in this process when it runs the `rag` role, over NATS or
 * Redis when another does), so the `agents` role never loads ingestion workers, embedders or
 * vector stores; chat goes through the model router's gateway. The calculator and the chart
 * renderer start their sandbox processes on first use.
 */
@Module({
  imports: [RagGroundingModule, ModelRouterModule],
  providers: [
    { provide: CalculatorTool, useFactory: () => new CalculatorTool() },
    {
      provide: DocumentSearchTool,
      inject: [KnowledgeRetriever],
      useFactory: (knowledge: KnowledgeRetriever) => new DocumentSearchTool(knowledge),
    },
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
      inject: [KnowledgeRetriever],
      useFactory: (knowledge: KnowledgeRetriever) => new DataAnalyzerTool(knowledge),
    },
    { provide: ChartGeneratorTool, useFactory: () => new ChartGeneratorTool() },
    { provide: AGENT_TOOLS, inject: TOOL_CLASSES, useFactory: (...tools: AgentTool[]) => tools },
    AgentToolRegistry,
  ],
  exports: [AgentToolRegistry],
})
export class AgentToolsModule {}
